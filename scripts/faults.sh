#!/usr/bin/env bash
# A fault campaign: the release stash-demo under a steady load while one fault at a time hits its store, counting
# what every request came to. Loopback only; every run bounded in time.
#
#   scripts/faults.sh                                  # every fault
#   scripts/faults.sh redis-kill postgres-stop         # some of them
#   STASH_FAULT_SECONDS=20 scripts/faults.sh           # each fault's load lasts this long (default 16)
#
# Faults: redis-kill (kill -9, then a restart on the same port and files), redis-stop (SIGSTOP for 3 s, then
# SIGCONT), redis-client-kill (CLIENT KILL of every client connection), redis-full (maxmemory 1 byte with
# noeviction for 3 s), postgres-stop (an immediate stop, then a start), postgres-terminate (pg_terminate_backend of
# the store's connections), file-kill (kill -9 of the demo during file-store writes, then a restart on the same
# directory and port), file-full (the file store's tmpfs filled for 3 s).
#
# The load (scripts/faults.lua, wrk with one connection per thread, 8 clients): each client counts visits in its
# session, reads a cached page, makes a rate-limited request and now and then logs in. The demo's store operations
# time out after 1 s (--store-timeout 1); a request makes at most three in a row, so one unanswered after 4 s is
# hung (wrk --timeout 4s). The fault comes 4 s into the load. For each fault the script prints:
#   sent       requests the clients sent
#   ok         answered 2xx (or 429 from the limiter: a decision, not a failure)
#   5xx        answered with a clean server error (the store was unreachable or full)
#   hung       unanswered within 4 s (wrk's timeouts; must be 0)
#   conn       requests lost to a closed connection (only when the demo itself is killed)
#   lost       acknowledged session writes lost (must be 0): a visit count that went back during the load, or
#              a session that reads back below the count last acknowledged
#   recovery   milliseconds from the store's return to the first session write that succeeds (a fresh session,
#              probed every 10 ms)
#   max ms     the slowest answer
#
# Redis runs with appendonly and appendfsync always, so that a write Redis acknowledged survives kill -9 (without
# it, a restart loses what Redis kept in memory, which is Redis's choice, not Stash's). PostgreSQL is the test
# script's throw-away cluster. The file store lives on a 64 MiB tmpfs mounted for the run (needs root).
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/common.sh
source scripts/postgres.sh

all_faults=(redis-kill redis-stop redis-client-kill redis-full postgres-stop postgres-terminate file-kill file-full)
faults=("$@")
[ ${#faults[@]} -gt 0 ] || faults=("${all_faults[@]}")
for fault in "${faults[@]}"; do
    if [[ ! " ${all_faults[*]} " =~ " $fault " ]]; then
        echo "unknown fault '$fault': one of ${all_faults[*]}" >&2
        exit 2
    fi
done
seconds=${STASH_FAULT_SECONDS:-16}
request_timeout=4

ensure_package wrk wrk
ensure_package curl curl
ensure_package redis-server redis-server
ensure_package redis-cli redis-tools

echo "==> swift build -c release --product stash-demo"
swift build -c release --product stash-demo
demo=$(swift build -c release --show-bin-path)/stash-demo

now_ms() { date +%s%3N; }

# A free loopback port from $1.
free_port() {
    local port
    for port in $(seq "$1" $(($1 + 200))); do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    echo "error: no free port from $1" >&2
    exit 1
}

# Redis with every write on disk before it is acknowledged, restartable on the same port and directory.
redis_port=
redis_pid=
run_redis() {
    mkdir -p "$scratch/redis"
    redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$scratch/redis" --save "" --appendonly yes \
        --appendfsync always >>"$scratch/redis/server.log" 2>&1 &
    redis_pid=$!
    pids+=("$redis_pid")
    for _ in $(seq 1 200); do
        if redis-cli -p "$redis_port" ping 2>/dev/null | grep -q PONG; then return 0; fi
        sleep 0.05
    done
    echo "error: redis-server did not start; its log:" >&2
    cat "$scratch/redis/server.log" >&2
    exit 1
}

# Starts the demo on the store, on the port given (a restart) or else a free one.
demo_pid=
port=
run_demo() {
    start_demo --host 127.0.0.1 --port "${2:-0}" --store "$1" --store-timeout 1 --rate-limit 200/second
}

stop_demo() {
    kill "$demo_pid" 2>/dev/null || true
    wait "$demo_pid" 2>/dev/null || true
}

# Milliseconds from now until a fresh session is saved (GET /session answers 200), probing every 10 ms; gives up
# after 30 s.
recovery_ms() {
    local start
    start=$(now_ms)
    while [ $(($(now_ms) - start)) -lt 30000 ]; do
        if [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$port/session")" = 200 ]; then
            echo $(($(now_ms) - start))
            return 0
        fi
        sleep 0.01
    done
    echo "never"
}

# The load, in the background: wrk's report goes to $scratch/wrk.txt.
wrk_pid=
start_load() {
    wrk -t8 -c8 -d"${seconds}s" --timeout "${request_timeout}s" -s scripts/faults.lua "http://127.0.0.1:$port" \
        -- $(($(date +%s) + seconds - 3)) >"$scratch/wrk.txt" 2>"$scratch/wrk-errors.txt" &
    wrk_pid=$!
}

# Waits for the load, reads every client's session back, and prints the fault's row.
report() {
    local fault=$1 recovery=$2
    wait "$wrk_pid"
    local totals readback_lost=0 client cookie acknowledged visits
    totals=$(grep '^totals ' "$scratch/wrk.txt")
    while read -r _ client cookie acknowledged; do
        [ "$cookie" != - ] && [ "$acknowledged" -gt 0 ] || continue
        visits=$(curl -s -m 5 -H "Cookie: $cookie" "http://127.0.0.1:$port/session" | sed -n 's/^visits: \([0-9]*\)$/\1/p')
        if [ -z "$visits" ] || [ "$visits" -le "$acknowledged" ]; then
            readback_lost=$((readback_lost + 1))
            echo "   client $client: read back visits '${visits:-none}' after $acknowledged acknowledged" >&2
        fi
    done < <(grep '^client ' "$scratch/wrk.txt")
    local sent ok limited failed other lost timeouts connect reads writes max
    sent=$(sed -n 's/.* sent=\([0-9]*\).*/\1/p' <<<"$totals")
    ok=$(sed -n 's/.* succeeded=\([0-9]*\).*/\1/p' <<<"$totals")
    limited=$(sed -n 's/.* limited=\([0-9]*\).*/\1/p' <<<"$totals")
    failed=$(sed -n 's/.* failed=\([0-9]*\).*/\1/p' <<<"$totals")
    other=$(sed -n 's/.* other=\([0-9]*\).*/\1/p' <<<"$totals")
    lost=$(sed -n 's/.* lost=\([0-9]*\).*/\1/p' <<<"$totals")
    timeouts=$(sed -n 's/.* timeouts=\([0-9]*\).*/\1/p' <<<"$totals")
    connect=$(sed -n 's/.* connect=\([0-9]*\).*/\1/p' <<<"$totals")
    reads=$(sed -n 's/.* read=\([0-9]*\).*/\1/p' <<<"$totals")
    writes=$(sed -n 's/.* write=\([0-9]*\).*/\1/p' <<<"$totals")
    max=$(sed -n 's/.* max_ms=\([0-9]*\).*/\1/p' <<<"$totals")
    if [ "$lost" -gt 0 ]; then
        echo "   acknowledged counts that went back during the load:" >&2
        grep 'after .* was acknowledged' "$scratch/wrk-errors.txt" | head -5 >&2
    fi
    if [ "$other" -gt 0 ]; then
        echo "   $other answers were neither 2xx, 429 nor 5xx:" >&2
        sort "$scratch/wrk-errors.txt" | uniq -c | sort -rn | head -5 >&2
    fi
    printf '| %-19s | %6d | %6d | %5d | %4d | %5d | %4d | %8s | %6d |\n' "$fault" "$sent" $((ok + limited)) "$failed" "$timeouts" \
        $((connect + reads + writes)) $((lost + readback_lost)) "$recovery" "$max" | tee -a "$scratch/table.md"
    [ "$timeouts" -eq 0 ] && [ $((lost + readback_lost)) -eq 0 ] || failures=$((failures + 1))
}

# Runs the load on the demo's store, injecting `inject` 4 s in and `restore` after it; the recovery is timed from
# the end of `restore`.
campaign() {
    local fault=$1 inject=$2 restore=$3
    echo "==> $fault" >&2
    start_load
    sleep 4
    $inject
    $restore
    local recovery
    recovery=$(recovery_ms)
    report "$fault" "$recovery"
}

redis_kill() { kill -9 "$redis_pid"; wait "$redis_pid" 2>/dev/null || true; }
redis_restart() { run_redis; }
redis_stop() { kill -STOP "$redis_pid"; sleep 3; }
redis_continue() { kill -CONT "$redis_pid"; }
redis_client_kill() { redis-cli -p "$redis_port" client kill type normal >/dev/null; }
nothing() { :; }
redis_fill() {
    redis-cli -p "$redis_port" config set maxmemory-policy noeviction >/dev/null
    redis-cli -p "$redis_port" config set maxmemory 1 >/dev/null
    sleep 3
}
redis_unfill() { redis-cli -p "$redis_port" config set maxmemory 0 >/dev/null; }

postgres_stop() { as_postgres_owner "$postgres_bin/pg_ctl" -D "$postgres_directory/data" -m immediate -w stop >/dev/null; }
postgres_start() {
    as_postgres_owner "$postgres_bin/pg_ctl" -D "$postgres_directory/data" -l "$postgres_directory/server.log" -w -t 30 \
        -o "$(postgres_server_options "$postgres_port")" start >/dev/null
}
postgres_terminate() {
    "$postgres_bin/psql" -q -X -t -A -h 127.0.0.1 -p "$postgres_port" -U postgres -d postgres \
        -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = 'stash'" >/dev/null
}

file_directory=
demo_kill() { kill -9 "$demo_pid"; wait "$demo_pid" 2>/dev/null || true; sleep 1; }
demo_restart() { run_demo "file:$file_directory" "$port"; }
file_fill() {
    dd if=/dev/zero of="$file_directory/../filler" bs=1M >/dev/null 2>&1 || true
    sleep 3
}
file_unfill() { rm -f "$file_directory/../filler"; }

failures=0
echo "| fault               |   sent |     ok |   5xx | hung |  conn | lost | recovery | max ms |" | tee "$scratch/table.md"
echo "|---------------------|-------:|-------:|------:|-----:|------:|-----:|---------:|-------:|" | tee -a "$scratch/table.md"

if [[ " ${faults[*]} " =~ " redis-" ]]; then
    redis_port=$(free_port 17379)
    run_redis
    run_demo "redis://127.0.0.1:$redis_port/0"
    for fault in "${faults[@]}"; do
        case "$fault" in
        redis-kill) campaign "$fault (kill -9)" redis_kill redis_restart ;;
        redis-stop) campaign "$fault (3 s)" redis_stop redis_continue ;;
        redis-client-kill) campaign "$fault" redis_client_kill nothing ;;
        redis-full) campaign "$fault (3 s)" redis_fill redis_unfill ;;
        esac
    done
    stop_demo
    redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
fi

if [[ " ${faults[*]} " =~ " postgres-" ]]; then
    on_exit stop_postgres
    start_postgres >&2
    run_demo "$STASH_POSTGRES_URL"
    for fault in "${faults[@]}"; do
        case "$fault" in
        postgres-stop) campaign "$fault (immediate)" postgres_stop postgres_start ;;
        postgres-terminate) campaign "$fault" postgres_terminate nothing ;;
        esac
    done
    stop_demo
fi

if [[ " ${faults[*]} " =~ " file-" ]]; then
    mkdir -p "$scratch/tmpfs"
    mount -t tmpfs -o size=64m tmpfs "$scratch/tmpfs"
    on_exit "umount '$scratch/tmpfs'"
    file_directory="$scratch/tmpfs/store"
    mkdir -p "$file_directory"
    run_demo "file:$file_directory"
    for fault in "${faults[@]}"; do
        case "$fault" in
        file-kill) campaign "$fault (kill -9)" demo_kill demo_restart ;;
        file-full) campaign "$fault (3 s)" file_fill file_unfill ;;
        esac
    done
    stop_demo
fi

echo "==> $seconds s of load per fault, wrk -t8 -c8 --timeout ${request_timeout}s, the demo's store timeout 1 s"
if [ "$failures" -gt 0 ]; then
    echo "error: $failures fault(s) left requests hung or acknowledged writes lost" >&2
    exit 1
fi
