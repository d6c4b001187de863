# Sourced after common.sh. start_redis installs redis-server from Debian's packages when missing and starts a
# throw-away instance on the first free loopback port from 16379: no persistence, its own directory in the scratch
# directory, stopped on exit. It sets redis_port and exports STASH_REDIS_URL (default user, database 0) and
# STASH_REDIS_SERVER (the redis-server binary, for tests that start servers of their own). The server also has an
# ACL user `stash` with password `stash-secret`.
start_redis() {
    ensure_package redis-server redis-server
    ensure_package redis-cli redis-tools
    mkdir -p "$scratch/redis"
    local port pid
    for port in $(seq 16379 16479); do
        if redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1; then continue; fi
        redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$scratch/redis" \
            --user stash on '>stash-secret' '~*' '&*' '+@all' >"$scratch/redis/server.log" 2>&1 &
        pid=$!
        for _ in $(seq 1 100); do
            if redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then
                pids+=("$pid")
                redis_port=$port
                export STASH_REDIS_URL="redis://127.0.0.1:$port/0"
                STASH_REDIS_SERVER=$(command -v redis-server)
                export STASH_REDIS_SERVER
                echo "==> redis-server $(redis-server --version | awk '{print $3}') on 127.0.0.1:$port"
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
