#!/usr/bin/env bash
# RedisStore's benchmarks beside redis-benchmark, in one run against throw-away servers on loopback, so the figures
# read as ratios: GET and SET of a 100-byte value on 1,000 keys (-r 1000) with 1 client and with 64, no pipelining on
# redis-benchmark's side (no -P). RedisStore pipelines on its own: 64 tasks share a few connections.
#
#   scripts/bench-redis.sh                      # one redis-server in plain text, the same over TLS, and a cluster
#   scripts/bench-redis.sh plain tls cluster    # any of the three, in that order
#
# The cluster is six redis-servers (three primaries, three replicas) on this one machine, which the client shares:
# its figures are what routing costs, not how a cluster scales.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/common.sh
source scripts/redis.sh
source scripts/tls.sh
source scripts/cluster.sh

modes=("$@")
if [ ${#modes[@]} -eq 0 ]; then modes=(plain tls cluster); fi

for mode in "${modes[@]}"; do
    case "$mode" in
    plain)
        start_redis
        url=$STASH_REDIS_URL
        target=(-h 127.0.0.1 -p "$redis_port")
        ;;
    tls)
        start_redis_tls
        url=$STASH_REDIS_TLS_URL
        port=${STASH_REDIS_TLS_URL#rediss://127.0.0.1:}
        port=${port%%/*}
        target=(-h 127.0.0.1 -p "$port" --tls --cacert "$STASH_TLS_DIRECTORY/ca.pem" --sni localhost)
        ;;
    cluster)
        start_redis_cluster
        url=$STASH_REDIS_CLUSTER_URL
        target=(--cluster -h 127.0.0.1 -p "${STASH_REDIS_CLUSTER_PORTS%% *}")
        ;;
    *)
        echo "error: unknown mode '$mode': plain, tls or cluster" >&2
        exit 1
        ;;
    esac
    for clients in 1 64; do
        echo "==> [$mode] redis-benchmark -t get,set -d 100 -r 1000 -c $clients -n 200000 (requests per second, p50 latency)"
        redis-benchmark "${target[@]}" -t get,set -d 100 -r 1000 -c "$clients" -n 200000 -q
    done
    # What the servers themselves can do on this machine: 64 clients pipelining 16 commands each.
    echo "==> [$mode] redis-benchmark -t get,set -d 100 -r 1000 -c 64 -P 16 -n 1000000 (the servers' ceiling here)"
    redis-benchmark "${target[@]}" -t get,set -d 100 -r 1000 -c 64 -P 16 -n 1000000 -q
    echo "==> [$mode] swift package benchmark --target RedisBenchmarks (release build) against $url"
    STASH_REDIS_URL=$url swift package --allow-writing-to-package-directory benchmark --target RedisBenchmarks --no-progress
done
