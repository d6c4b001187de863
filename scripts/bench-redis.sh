#!/usr/bin/env bash
# RedisStore's benchmarks beside redis-benchmark, against one throw-away redis-server on loopback, so the figures
# read as ratios: GET and SET of a 100-byte value with 1 client and with 64, no pipelining on redis-benchmark's
# side (no -P). RedisStore pipelines on its own: 64 tasks share a few connections.
#
#   scripts/bench-redis.sh
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/common.sh
source scripts/redis.sh

start_redis

for clients in 1 64; do
    echo "==> redis-benchmark -t get,set -d 100 -c $clients -n 200000 (requests per second, p50 latency)"
    redis-benchmark -h 127.0.0.1 -p "$redis_port" -t get,set -d 100 -c "$clients" -n 200000 -q
done

echo "==> swift package benchmark --target RedisBenchmarks (release build)"
swift package --allow-writing-to-package-directory benchmark --target RedisBenchmarks --no-progress
