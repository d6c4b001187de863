#!/usr/bin/env bash
# A soak: the release stash-demo on a bounded memory store under load on a million distinct keys (the response
# cache and new sessions; scripts/soak.lua), its resident memory sampled every second, its file descriptors and
# connections counted before and after. Loopback only; bounded in time.
#
#   scripts/soak.sh                         # 10 minutes, a 64 MiB bound
#   STASH_SOAK_SECONDS=60 STASH_SOAK_MIB=32 scripts/soak.sh
#
# It fails when a request fails, when the resident memory of the run's last half grows by more than 5 % (the store keeps its bound, so a
# growing process leaks), or when the descriptors or established connections after the load differ from before.
# It prints the figures to judge the overhead by: resident memory before the load, its peak, and the peak less the
# bound (what the process keeps beyond the keys and values the bound counts: the dictionary, the recency list,
# buffer headers, the allocator's slack, and the server's own memory).
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/common.sh

seconds=${STASH_SOAK_SECONDS:-600}
mib=${STASH_SOAK_MIB:-64}

ensure_package wrk wrk
ensure_package curl curl

echo "==> swift build -c release --product stash-demo"
swift build -c release --product stash-demo
demo=$(swift build -c release --show-bin-path)/stash-demo

# Cached responses live longer than the soak: only the bound evicts them.
start_demo --host 127.0.0.1 --port 0 --store memory --memory-limit "$mib" --cache-ttl 86400 --rate-limit 1000000/second
for path in /cached /session; do curl -s -o /dev/null "http://127.0.0.1:$port$path"; done

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$demo_pid/status"; }
descriptors() { find "/proc/$demo_pid/fd" -mindepth 1 | wc -l; }
connections() { ss -Htn state established "( sport = :$port )" | wc -l; }

rss_before=$(rss_kib)
descriptors_before=$(descriptors)
connections_before=$(connections)
echo "==> stash-demo on 127.0.0.1:$port, memory store bounded to $mib MiB; ${seconds} s of wrk -t2 -c32 on 1,000,000 keys"

wrk -t2 -c32 -d"${seconds}s" --timeout 5s -s scripts/soak.lua "http://127.0.0.1:$port" >"$scratch/wrk.txt" &
wrk_pid=$!
: >"$scratch/rss.txt"
while kill -0 "$wrk_pid" 2>/dev/null; do
    echo "$(rss_kib)" >>"$scratch/rss.txt"
    sleep 1
done
wait "$wrk_pid"
sleep 2

descriptors_after=$(descriptors)
connections_after=$(connections)
requests=$(awk '/requests in/ {print $1}' "$scratch/wrk.txt")
rate=$(awk '/^Requests\/sec:/ {print $2}' "$scratch/wrk.txt")
errors=$(grep -E 'Socket errors|Non-2xx' "$scratch/wrk.txt" || true)

# Peak, and the last half's first and last minute (means), in MiB.
read -r samples peak first last < <(awk -v half="$(($(wc -l <"$scratch/rss.txt") / 2))" '
    { rss[NR] = $1; if ($1 > peak) peak = $1 }
    END {
        for (i = half + 1; i <= half + 60 && i <= NR; i++) { a += rss[i]; n++ }
        for (i = (NR > 60 ? NR - 59 : 1); i <= NR; i++) { b += rss[i]; m++ }
        printf "%d %.1f %.1f %.1f\n", NR, peak / 1024, a / n / 1024, b / m / 1024
    }' "$scratch/rss.txt")
growth=$(awk -v a="$first" -v b="$last" 'BEGIN { printf "%.1f", (b - a) * 100 / a }')
overhead=$(awk -v p="$peak" -v m="$mib" 'BEGIN { printf "%.1f", p - m }')

echo "| requests | per second | RSS before | RSS peak | peak − bound | last half: first min → last min | fds before → after | connections before → after |"
echo "|---------:|-----------:|-----------:|---------:|-------------:|:-------------------------------:|:------------------:|:--------------------------:|"
printf '| %s | %s | %.1f MiB | %s MiB | %s MiB | %s → %s MiB (%s %%) | %s → %s | %s → %s |\n' "$requests" "$rate" \
    "$(awk -v k="$rss_before" 'BEGIN { print k / 1024 }')" "$peak" "$overhead" "$first" "$last" "$growth" \
    "$descriptors_before" "$descriptors_after" "$connections_before" "$connections_after"
echo "==> $samples samples of resident memory, one a second; bound $mib MiB of keys and values"
[ -z "$errors" ] || echo "wrk: $errors"

status=0
if [ -n "$errors" ]; then
    echo "error: requests failed" >&2
    status=1
fi
if awk -v g="$growth" 'BEGIN { exit !(g > 5) }'; then
    echo "error: resident memory grew by $growth % over the last half of the run" >&2
    status=1
fi
if [ "$descriptors_after" != "$descriptors_before" ] || [ "$connections_after" != "$connections_before" ]; then
    echo "error: descriptors $descriptors_before → $descriptors_after, connections $connections_before → $connections_after" >&2
    status=1
fi
exit $status
