# Sourced after common.sh and redis.sh (and tls.sh, for the TLS cluster). Throw-away Redis Clusters on loopback, each
# node a redis-server with `cluster-node-timeout` 1000 ms and no persistence in its own directory in the scratch
# directory, joined by `redis-cli --cluster create`, stopped on exit. Each waits until every node sees every slot
# served, then exports:
#
# start_redis_cluster: six nodes (three primaries, three replicas), in plain text
#   STASH_REDIS_CLUSTER_URL        redis+cluster://127.0.0.1:PORT1,127.0.0.1:PORT2/ (two seeds)
#   STASH_REDIS_CLUSTER_PORTS      the six ports, space-separated (tests ask each node about itself)
#
# start_redis_tls_cluster (after start_redis_tls, whose certificates it uses): three primaries that speak only TLS,
# to clients and to each other on the cluster bus
#   STASH_REDIS_TLS_CLUSTER_URL    rediss+cluster://127.0.0.1:PORT1,127.0.0.1:PORT2/?tls_ca=…&tls_server_name=localhost

# launch_redis_cluster NAME FIRST_PORT REPLICAS [SERVER OPTIONS…]: starts 3 × (1 + REPLICAS) nodes on the first free
# consecutive ports from FIRST_PORT (bus ports 10000 above) and joins them; redis-cli talks to them with the options
# in cluster_cli_args. Sets cluster_ports.
launch_redis_cluster() {
    local name=$1 first_port=$2 replicas=$3
    shift 3
    ensure_package redis-server redis-server
    ensure_package redis-cli redis-tools
    local count=$((3 * (1 + replicas)))
    local first port free
    local -a ports=()
    for first in $(seq "$first_port" 10 $((first_port + 200))); do
        free=yes
        for port in $(seq "$first" $((first + count - 1))); do
            # Anything listening there (of whatever protocol) makes the range taken.
            if (: </dev/tcp/127.0.0.1/"$port") 2>/dev/null || (: </dev/tcp/127.0.0.1/$((port + 10000))) 2>/dev/null; then
                free=no
                break
            fi
        done
        if [ "$free" = yes ]; then break; fi
    done
    local port_option=(--port)
    if [ "${#cluster_cli_args[@]}" -gt 0 ]; then port_option=(--port 0 --tls-port); fi
    for port in $(seq "$first" $((first + count - 1))); do
        mkdir -p "$scratch/$name/$port"
        redis-server "${port_option[@]}" "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$scratch/$name/$port" \
            --cluster-enabled yes --cluster-config-file "$scratch/$name/$port/nodes.conf" --cluster-node-timeout 1000 \
            "$@" >"$scratch/$name/$port/server.log" 2>&1 &
        pids+=("$!")
        ports+=("$port")
    done
    for port in "${ports[@]}"; do
        for _ in $(seq 1 100); do
            if redis-cli "${cluster_cli_args[@]}" -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then break; fi
            sleep 0.05
        done
    done
    local nodes=()
    for port in "${ports[@]}"; do nodes+=("127.0.0.1:$port"); done
    if ! redis-cli "${cluster_cli_args[@]}" --cluster create "${nodes[@]}" --cluster-replicas "$replicas" --cluster-yes \
        >"$scratch/$name/create.log" 2>&1; then
        echo "error: redis-cli --cluster create failed:" >&2
        cat "$scratch/$name/create.log" >&2
        exit 1
    fi
    # Every node must see every slot served before the tests start.
    for port in "${ports[@]}"; do
        for attempt in $(seq 1 200); do
            if redis-cli "${cluster_cli_args[@]}" -h 127.0.0.1 -p "$port" cluster info 2>/dev/null | grep -q "cluster_state:ok"; then
                break
            fi
            if [ "$attempt" -eq 200 ]; then
                echo "error: the Redis Cluster on ports ${ports[*]} did not come up" >&2
                exit 1
            fi
            sleep 0.05
        done
    done
    cluster_ports=("${ports[@]}")
}

start_redis_cluster() {
    cluster_cli_args=()
    launch_redis_cluster cluster 17000 1
    export STASH_REDIS_CLUSTER_URL="redis+cluster://127.0.0.1:${cluster_ports[0]},127.0.0.1:${cluster_ports[1]}/"
    export STASH_REDIS_CLUSTER_PORTS="${cluster_ports[*]}"
    echo "==> Redis Cluster (3 primaries, 3 replicas) on 127.0.0.1:${cluster_ports[0]}-${cluster_ports[5]}"
}

start_redis_tls_cluster() {
    local dir=${STASH_TLS_DIRECTORY:?start_redis_tls first: the TLS cluster uses its certificates}
    cluster_cli_args=(--tls --cacert "$dir/ca.pem" --cert "$dir/client.pem" --key "$dir/client.key")
    # Nodes connect to each other with the client certificate (the server's is for serverAuth only).
    launch_redis_cluster tls-cluster 17300 0 --tls-cluster yes --tls-replication yes \
        --tls-cert-file "$dir/server.pem" --tls-key-file "$dir/server.key" --tls-ca-cert-file "$dir/ca.pem" \
        --tls-client-cert-file "$dir/client.pem" --tls-client-key-file "$dir/client.key" --tls-auth-clients optional
    cluster_cli_args=()
    export STASH_REDIS_TLS_CLUSTER_URL="rediss+cluster://127.0.0.1:${cluster_ports[0]},127.0.0.1:${cluster_ports[1]}/?tls_ca=$dir/ca.pem&tls_server_name=localhost"
    echo "==> Redis Cluster over TLS (3 primaries) on 127.0.0.1:${cluster_ports[0]}-${cluster_ports[2]}"
}
