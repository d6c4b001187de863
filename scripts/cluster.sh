# Sourced after common.sh and redis.sh. start_redis_cluster starts a throw-away Redis Cluster on loopback: six
# redis-servers (three primaries, three replicas, `cluster-node-timeout` 1000 ms, no persistence, each in its own
# directory in the scratch directory), joined by `redis-cli --cluster create`, stopped on exit. It waits until every
# slot is served and exports
#   STASH_REDIS_CLUSTER_URL    redis+cluster://127.0.0.1:PORT1,127.0.0.1:PORT2/ (two seeds)
#   STASH_REDIS_CLUSTER_PORTS  the six ports, space-separated (tests ask each node about itself)
start_redis_cluster() {
    ensure_package redis-server redis-server
    ensure_package redis-cli redis-tools
    local first port ports=() free
    for first in $(seq 17000 10 17200); do
        free=yes
        for port in $(seq "$first" $((first + 5))); do
            if redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1 || redis-cli -h 127.0.0.1 -p $((port + 10000)) ping >/dev/null 2>&1; then
                free=no
                break
            fi
        done
        if [ "$free" = yes ]; then break; fi
    done
    for port in $(seq "$first" $((first + 5))); do
        mkdir -p "$scratch/cluster/$port"
        redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$scratch/cluster/$port" \
            --cluster-enabled yes --cluster-config-file "$scratch/cluster/$port/nodes.conf" --cluster-node-timeout 1000 \
            >"$scratch/cluster/$port/server.log" 2>&1 &
        pids+=("$!")
        ports+=("$port")
    done
    for port in "${ports[@]}"; do
        for _ in $(seq 1 100); do
            if redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then break; fi
            sleep 0.05
        done
    done
    local nodes=()
    for port in "${ports[@]}"; do nodes+=("127.0.0.1:$port"); done
    if ! redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes >"$scratch/cluster/create.log" 2>&1; then
        echo "error: redis-cli --cluster create failed:" >&2
        cat "$scratch/cluster/create.log" >&2
        exit 1
    fi
    # Every node must see every slot served before the tests start.
    for port in "${ports[@]}"; do
        for attempt in $(seq 1 200); do
            if redis-cli -h 127.0.0.1 -p "$port" cluster info 2>/dev/null | grep -q "cluster_state:ok"; then break; fi
            if [ "$attempt" -eq 200 ]; then
                echo "error: the Redis Cluster on ports ${ports[*]} did not come up" >&2
                exit 1
            fi
            sleep 0.05
        done
    done
    export STASH_REDIS_CLUSTER_URL="redis+cluster://127.0.0.1:${ports[0]},127.0.0.1:${ports[1]}/"
    export STASH_REDIS_CLUSTER_PORTS="${ports[*]}"
    echo "==> Redis Cluster (3 primaries, 3 replicas) on 127.0.0.1:${ports[0]}-${ports[5]}"
}
