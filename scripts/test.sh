#!/usr/bin/env bash
# Runs Stash's whole test suite: builds every target (benchmarks included, so they never rot), starts the real
# servers the integration tests need, runs every test, and stops the servers.
#
#   scripts/test.sh                      # everything
#   scripts/test.sh --filter FileStore   # extra arguments go to `swift test`
#
# Redis: redis-server is installed from Debian's packages when missing (apt-get; needs root), then a throw-away
# instance runs on a free loopback port with no persistence in its own temporary directory. The tests find it
# through STASH_REDIS_URL (and STASH_REDIS_SERVER, to start servers of their own for fault tests); a Redis test
# that cannot reach it fails, it never skips.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v swift >/dev/null 2>&1; then
    echo "error: the Swift toolchain (swift) is not on PATH" >&2
    exit 1
fi

scratch=$(mktemp -d -t stash-test.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$scratch"
}
trap cleanup EXIT

# Installs Debian packages when a command is missing.
ensure_package() {
    local command=$1
    shift
    if ! command -v "$command" >/dev/null 2>&1; then
        echo "==> installing $* (apt-get)"
        if [ "$(id -u)" -ne 0 ]; then
            echo "error: $command is missing and installing it needs root: apt-get install -y $*" >&2
            exit 1
        fi
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
    fi
}

# Starts a throw-away redis-server on the first free loopback port from 16379; sets redis_port.
start_redis() {
    ensure_package redis-server redis-server
    ensure_package redis-cli redis-tools
    mkdir -p "$scratch/redis"
    for port in $(seq 16379 16479); do
        if redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1; then continue; fi
        redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$scratch/redis" \
            --user stash on '>stash-secret' '~*' '&*' '+@all' >"$scratch/redis/server.log" 2>&1 &
        local pid=$!
        for _ in $(seq 1 100); do
            if redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then
                pids+=("$pid")
                redis_port=$port
                return 0
            fi
            if ! kill -0 "$pid" 2>/dev/null; then break; fi
            sleep 0.05
        done
        kill "$pid" 2>/dev/null || true
    done
    echo "error: could not start redis-server on a loopback port; its log:" >&2
    cat "$scratch/redis/server.log" >&2
    exit 1
}

start_redis
export STASH_REDIS_URL="redis://127.0.0.1:$redis_port/0"
export STASH_REDIS_SERVER
STASH_REDIS_SERVER=$(command -v redis-server)
echo "==> redis-server $(redis-server --version | awk '{print $3}') on 127.0.0.1:$redis_port"

echo "==> swift build --build-tests"
swift build --build-tests

echo "==> swift test"
swift test --skip-build "$@"
