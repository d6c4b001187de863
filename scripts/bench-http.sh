#!/usr/bin/env bash
# The demo server under wrk: requests per second and p99 latency of each path, and each path's throughput as a
# ratio of the first's (by default /hello, the bare 1 KiB baseline, then /cached, the same through the response
# cache). A release build of stash-demo runs on a free loopback port and is stopped on exit.
#
#   scripts/bench-http.sh                          # /hello and /cached on the memory store
#   scripts/bench-http.sh --store redis://127.0.0.1:6379/0 /hello /cached
#   scripts/bench-http.sh /hello /limited
#
# A path the demo answers with 404 is an error (a build without that route), not a figure.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/common.sh

store=memory
paths=()
while [ $# -gt 0 ]; do
    case "$1" in
        --store) store=$2; shift 2 ;;
        --store=*) store=${1#--store=}; shift ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        -*) echo "error: unknown option $1 (usage: scripts/bench-http.sh [--store STORE] [PATH...])" >&2; exit 1 ;;
        *) paths+=("$1"); shift ;;
    esac
done
[ ${#paths[@]} -gt 0 ] || paths=(/hello /cached)

ensure_package wrk wrk
ensure_package curl curl

echo "==> swift build -c release --product stash-demo"
swift build -c release --product stash-demo
demo=$(swift build -c release --show-bin-path)/stash-demo

# A generous limit, so that benchmarking /limited measures the limiter's admitted path.
"$demo" --host 127.0.0.1 --port 0 --store "$store" --rate-limit 1000000/second >"$scratch/demo.log" 2>&1 &
pids+=("$!")
port=
for _ in $(seq 1 600); do
    port=$(sed -n 's|^stash-demo listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$scratch/demo.log" | head -n 1)
    [ -n "$port" ] && break
    if ! kill -0 "${pids[-1]}" 2>/dev/null; then break; fi
    sleep 0.1
done
if [ -z "$port" ]; then
    echo "error: stash-demo did not start:" >&2
    cat "$scratch/demo.log" >&2
    exit 1
fi
echo "==> stash-demo on 127.0.0.1:$port, store $store"

for path in "${paths[@]}"; do
    status=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port$path")
    if [ "$status" = 404 ]; then
        echo "error: $path answers 404: this stash-demo has no such route" >&2
        exit 1
    elif [ "$status" != 200 ]; then
        echo "error: $path answers $status, not 200" >&2
        exit 1
    fi
done

results=()
for path in "${paths[@]}"; do
    echo "==> wrk -t2 -c64 -d10s --latency http://127.0.0.1:$port$path"
    wrk -t2 -c64 -d10s --latency "http://127.0.0.1:$port$path" | tee "$scratch/wrk.txt"
    if grep -q 'Non-2xx or 3xx responses' "$scratch/wrk.txt"; then
        echo "error: $path gave error responses under load; its figures would not be comparable" >&2
        exit 1
    fi
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$scratch/wrk.txt")
    p99=$(awk '$1 == "99%" {print $2}' "$scratch/wrk.txt")
    results+=("$path $rps $p99")
done

echo
echo "==> summary (store $store)"
baseline=$(echo "${results[0]}" | awk '{print $2}')
printf '%-12s %14s %10s %12s\n' path requests/s p99 "vs ${paths[0]}"
for result in "${results[@]}"; do
    read -r path rps p99 <<<"$result"
    ratio=$(awk -v a="$rps" -v b="$baseline" 'BEGIN { printf "%.2f", a / b }')
    printf '%-12s %14s %10s %12s\n' "$path" "$rps" "$p99" "$ratio"
done
