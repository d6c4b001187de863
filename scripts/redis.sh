# Sourced after common.sh. start_redis installs redis-server from Debian's packages when missing and starts a
# throw-away instance on the first free loopback port from 16379: no persistence, its own directory in the scratch
# directory, stopped on exit. It sets redis_port and exports STASH_REDIS_URL (default user, database 0) and
# STASH_REDIS_SERVER (the redis-server binary, for tests that start servers of their own). The server also has an
# ACL user `stash` with password `stash-secret`.
start_redis() {
    ensure_package redis-server redis-server
    ensure_package redis-cli redis-tools
    resp_cli_args=()
    start_resp_server redis "$(command -v redis-server)" "$(command -v redis-cli)" 16379 --port
    redis_port=$resp_port
    export STASH_REDIS_URL="redis://127.0.0.1:$redis_port/0"
    STASH_REDIS_SERVER=$(command -v redis-server)
    export STASH_REDIS_SERVER
    echo "==> redis-server $(redis-server --version | awk '{print $3}') on 127.0.0.1:$redis_port"
}

# Starts a Redis-compatible server (redis-server, valkey-server) on the first free loopback port from FIRST_PORT,
# as start_redis describes, and sets resp_port:
#   start_resp_server NAME SERVER CLI FIRST_PORT PORT_OPTION [SERVER_ARGUMENT...]
# PORT_OPTION precedes the port (`--port`, or `--port 0 --tls-port` for TLS only); the CLI pings with the arguments
# in the array resp_cli_args (TLS files, say).
start_resp_server() {
    local name=$1 server=$2 cli=$3 first=$4 port_option=$5
    shift 5
    mkdir -p "$scratch/$name"
    local port pid
    for port in $(seq "$first" $((first + 100))); do
        if "$cli" "${resp_cli_args[@]}" -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1; then continue; fi
        # shellcheck disable=SC2086 # PORT_OPTION may be several words
        "$server" $port_option "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$scratch/$name" \
            --user stash on '>stash-secret' '~*' '&*' '+@all' "$@" >"$scratch/$name/server.log" 2>&1 &
        pid=$!
        for _ in $(seq 1 100); do
            if "$cli" "${resp_cli_args[@]}" -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then
                pids+=("$pid")
                resp_port=$port
                return 0
            fi
            if ! kill -0 "$pid" 2>/dev/null; then break; fi
            sleep 0.05
        done
        kill "$pid" 2>/dev/null || true
    done
    echo "error: could not start $server on a loopback port; its log:" >&2
    cat "$scratch/$name/server.log" >&2
    exit 1
}
