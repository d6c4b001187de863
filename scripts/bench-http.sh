#!/usr/bin/env bash
# The demo server under wrk, on every route and store: requests per second, p99 latency, each route's throughput as
# a ratio of /hello's in the same run, the CPU time the demo spent per request (from /proc) and, on Redis, the
# commands Redis ran per request (INFO commandstats, the commands of scripts included) and its CPU time per request
# (INFO cpu): on a machine the demo, wrk and Redis share, where each request's time goes. A release build of stash-demo runs on a free loopback port per store and is stopped
# on exit; `redis` starts a throw-away redis-server (scripts/redis.sh).
#
#   scripts/bench-http.sh                                  # every route on memory, then on a throw-away Redis
#   scripts/bench-http.sh --stores memory --runs 3 --duration 6
#   scripts/bench-http.sh --frameworks "hummingbird vapor" --stores memory --routes "hello cached"
#   scripts/bench-http.sh --stores redis://127.0.0.1:6379/0 --routes "hello session-shared"
#   scripts/bench-http.sh --stores "redis redis-near" --routes "hello cached"   # redis-near: the demo's --near-cache
#
# Routes (wrk -t2 -c64 each):
#   hello           GET /hello, the bare 1 KiB route: the baseline of the ratios
#   cached          GET /cached, a response-cache hit
#   limited         GET /limited, an admitted rate-limit decision (the demo runs with --rate-limit 1000000/second)
#   session-shared  GET /session (read + write of a visit counter), all 64 connections sending one session cookie,
#                   as a browser firing parallel requests does: the hot-session case
#   session-many    GET /session over 64 sessions, each request taking the next cookie (a wrk Lua script)
#   session-new     GET /session without a cookie: a new session on every request
#   session-read    GET /whoami with one logged-in session's cookie on all 64 connections: a session load and no
#                   write (what a near cache serves from memory)
# --frameworks runs the demo on each framework given (hummingbird, vapor; hummingbird by default): each framework's
# routes are measured against its own /hello. With --runs N, the routes run N times in turn; each route shows its median requests/s and the median of its
# ratios to the /hello of the same run (the host's speed drifts between runs, so ratios are taken within one).
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/common.sh
source scripts/redis.sh

frameworks=(hummingbird)
stores=(memory redis)
routes=(hello cached limited session-shared session-many session-new session-read)
runs=1
duration=10
usage="usage: scripts/bench-http.sh [--frameworks \"hummingbird vapor\"] [--stores \"memory redis URL…\"] [--routes \"hello cached …\"] [--runs N] [--duration S]"
while [ $# -gt 0 ]; do
    case "$1" in
        --frameworks) read -r -a frameworks <<<"$2"; shift 2 ;;
        --stores) read -r -a stores <<<"$2"; shift 2 ;;
        --routes) read -r -a routes <<<"$2"; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        --duration) duration=$2; shift 2 ;;
        -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
        *) echo "error: unknown argument $1 ($usage)" >&2; exit 1 ;;
    esac
done
[ "${routes[0]}" = hello ] || routes=(hello "${routes[@]}")

ensure_package wrk wrk
ensure_package curl curl

echo "==> swift build -c release --product stash-demo"
swift build -c release --product stash-demo
demo=$(swift build -c release --show-bin-path)/stash-demo

# Each request takes the next of the cookies given after `--`; each wrk thread starts at its own place.
cat >"$scratch/many.lua" <<'LUA'
local counter = 0
function setup(thread)
    counter = counter + 1
    thread:set("offset", counter * 32)
end
function init(args)
    cookies = args
    next_cookie = offset or 0
end
function request()
    next_cookie = next_cookie % #cookies + 1
    return wrk.format(nil, nil, { ["Cookie"] = cookies[next_cookie] })
end
LUA

# Prints the `session=…` pair a fresh /session sets.
new_session() {
    curl -s -D - -o /dev/null "http://127.0.0.1:$port/session" | sed -n 's/^[Ss]et-[Cc]ookie: \(session=[^;]*\).*/\1/p' | head -n 1
}

# The cookie of a session logged in as `bench`.
logged_in_session() {
    curl -s -D - -o /dev/null -X POST "http://127.0.0.1:$port/login?user=bench" | sed -n 's/^[Ss]et-[Cc]ookie: \(session=[^;]*\).*/\1/p' | head -n 1
}

# The calls of every command since the last CONFIG RESETSTAT, but INFO's and CONFIG's own and connections' set-up.
redis_calls() {
    redis-cli -u "$redis_url" --raw info commandstats |
        awk -F'[:,=]' '/^cmdstat_/ && $1 !~ /^cmdstat_(info|config|hello|auth|select|client|ping)/ {sum += $3} END {print sum + 0}'
}

# The CPU time a process has used, in seconds (user and system, from /proc).
process_cpu() {
    awk -v hz="$(getconf CLK_TCK)" '{printf "%.6f", ($14 + $15) / hz}' "/proc/$1/stat"
}

# The CPU time Redis has used, in seconds (INFO cpu: user and system, every thread).
redis_cpu() {
    redis-cli -u "$redis_url" --raw info cpu | tr -d '\r' | awk -F: '/^used_cpu_(sys|user):/ {sum += $2} END {printf "%.6f", sum}'
}

# Microseconds per request of a CPU time difference in seconds.
per_request() {
    awk -v a="$1" -v b="$2" -v r="$3" 'BEGIN { printf "%.1f", (b - a) * 1000000 / r }'
}

# Runs wrk on one route once; prints "requests/s p99 requests".
measure() {
    local route=$1 arguments=()
    case "$route" in
        hello) arguments=("http://127.0.0.1:$port/hello") ;;
        cached) arguments=("http://127.0.0.1:$port/cached") ;;
        limited) arguments=("http://127.0.0.1:$port/limited") ;;
        session-shared) arguments=(-H "Cookie: $shared_cookie" "http://127.0.0.1:$port/session") ;;
        session-many) arguments=(-s "$scratch/many.lua" "http://127.0.0.1:$port/session" -- "${many_cookies[@]}") ;;
        session-new) arguments=("http://127.0.0.1:$port/session") ;;
        session-read) arguments=(-H "Cookie: $login_cookie" "http://127.0.0.1:$port/whoami") ;;
        *) echo "error: unknown route $route" >&2; exit 1 ;;
    esac
    wrk -t2 -c64 -d"${duration}s" --latency "${arguments[@]}" >"$scratch/wrk.txt"
    if grep -q 'Non-2xx or 3xx responses' "$scratch/wrk.txt"; then
        echo "error: $route gave error responses under load; its figures would not be comparable:" >&2
        cat "$scratch/wrk.txt" >&2
        exit 1
    fi
    echo "$(awk '/^Requests\/sec:/ {print $2}' "$scratch/wrk.txt") $(awk '$1 == "99%" {print $2}' "$scratch/wrk.txt") $(awk '/requests in/ {print $1}' "$scratch/wrk.txt")"
}

summary=()
for framework in "${frameworks[@]}"; do
case "$framework" in
    hummingbird|vapor) ;;
    *) echo "error: unknown framework $framework ($usage)" >&2; exit 1 ;;
esac
for store in "${stores[@]}"; do
    redis_url=
    near_cache=()
    case "$store" in
        redis | redis-near)
            # One throw-away server for every framework; redis-near runs the demo with --near-cache.
            if [ "$store" = redis-near ]; then near_cache=(--near-cache); fi
            [ -n "${redis_port:-}" ] || start_redis
            store_argument=$STASH_REDIS_URL
            redis_url=$STASH_REDIS_URL
            ;;
        redis://*) store_argument=$store; redis_url=$store ;;
        *) store_argument=$store ;;
    esac
    start_demo --framework "$framework" --host 127.0.0.1 --port 0 --store "$store_argument" "${near_cache[@]}" --rate-limit 1000000/second
    echo "==> stash-demo on $framework at 127.0.0.1:$port, store $store_argument"
    for path in /hello /cached /limited /session; do
        status=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port$path")
        if [ "$status" != 200 ]; then
            echo "error: $path answers $status, not 200: this stash-demo lacks the route, or the store fails" >&2
            exit 1
        fi
    done
    shared_cookie=$(new_session)
    many_cookies=()
    for _ in $(seq 1 64); do many_cookies+=("$(new_session)"); done
    [ -n "$shared_cookie" ] || { echo "error: /session set no cookie" >&2; exit 1; }
    login_cookie=$(logged_in_session)
    [ -n "$login_cookie" ] || { echo "error: /login set no cookie" >&2; exit 1; }

    # Per run and route: "requests/s p99 requests commands ratio demo-µs redis-µs", the ratio to /hello of the same
    # run, and the CPU microseconds per request of the demo and of Redis.
    declare -A samples=()
    for run in $(seq 1 "$runs"); do
        hello_rps=
        for route in "${routes[@]}"; do
            [ -z "$redis_url" ] || redis-cli -u "$redis_url" config resetstat >/dev/null
            demo_before=$(process_cpu "$demo_pid")
            redis_before=0
            [ -z "$redis_url" ] || redis_before=$(redis_cpu)
            result=$(measure "$route")
            read -r rps _ requests <<<"$result"
            demo_us=$(per_request "$demo_before" "$(process_cpu "$demo_pid")" "$requests")
            [ -n "$hello_rps" ] || hello_rps=$rps
            commands=-
            redis_us=-
            if [ -n "$redis_url" ]; then
                commands=$(awk -v c="$(redis_calls)" -v r="$requests" 'BEGIN { printf "%.2f", c / r }')
                redis_us=$(per_request "$redis_before" "$(redis_cpu)" "$requests")
            fi
            ratio=$(awk -v a="$rps" -v b="$hello_rps" 'BEGIN { printf "%.2f", a / b }')
            samples[$route]+="$result $commands $ratio $demo_us $redis_us"$'\n'
            echo "    run $run $route: $rps requests/s, p99 $(echo "$result" | awk '{print $2}'), $ratio of this run's /hello;" \
                "CPU per request: demo $demo_us µs, Redis $redis_us µs; Redis commands per request $commands"
        done
    done
    # Each route's median requests/s (with that run's p99), and its median ratio to /hello of the same run.
    for route in "${routes[@]}"; do
        median=$(printf '%s' "${samples[$route]}" | sort -n -k1,1 | awk -v n="$runs" 'NR == int((n + 1) / 2)')
        read -r rps p99 _ commands _ <<<"$median"
        ratio=$(printf '%s' "${samples[$route]}" | sort -n -k5,5 | awk -v n="$runs" 'NR == int((n + 1) / 2) {print $5}')
        demo_us=$(printf '%s' "${samples[$route]}" | sort -n -k6,6 | awk -v n="$runs" 'NR == int((n + 1) / 2) {print $6}')
        redis_us=$(printf '%s' "${samples[$route]}" | sort -n -k7,7 | awk -v n="$runs" 'NR == int((n + 1) / 2) {print $7}')
        summary+=("$(printf '%-12s %-8s %-16s %12s %10s %9s %10s %12s %12s' "$framework" "${store%%://*}" "$route" "$rps" "$p99" "$ratio" "$commands" "$demo_us" "$redis_us")")
    done
    unset samples
    kill "$demo_pid" 2>/dev/null || true
    wait "$demo_pid" 2>/dev/null || true
done
done

echo
echo "==> summary: wrk -t2 -c64 -d${duration}s; median requests/s of $runs run(s) per route (with that run's p99), and"
echo "    the median of each run's ratio to the /hello measured just before it; median CPU µs per request"
printf '%-12s %-8s %-16s %12s %10s %9s %10s %12s %12s\n' framework store route requests/s p99 "vs hello" "commands" "demo µs/req" "Redis µs/req"
for line in "${summary[@]}"; do echo "$line"; done
