# The phases of the whole test suite (sourced by test.sh and sanitize.sh, with the servers already started):
#
#   run_suite [SWIFT TEST OPTIONS…]   # e.g. --scratch-path .build-tsan --sanitize=thread
#
# All but the fault tests; then the conformance suite and the middleware on Valkey, TLS, the clusters and the near
# caches; then the fault tests.
run_suite() {
    # The fault tests (servers killed, stopped, restarted, slots moved, under load) measure what the stores do within
    # their timeouts: they run after the rest, one at a time (ServerFaultGate), not beside hundreds of other tests
    # on the same two cores.
    echo "==> swift test $* (all but the fault tests)"
    swift test --skip-build "$@" --skip "FaultTests"
    # The Redis store's conformance suite and the middleware and adapter tests that run on every store
    # (TestStores.all) run again on Valkey, Redis over TLS and the two clusters, in a phase of their own: beside the
    # whole suite, the extra servers overloaded two cores (PostgreSQL's tests timed out at 30 s).
    local suites
    suites=$(grep -rl "TestStores\.\(all\|shared\)()" Tests | xargs grep -ho "@Suite struct [A-Za-z]*" | awk '{print $3}' | sort -u | paste -sd'|')
    echo "==> swift test $* (the conformance suite and the middleware on valkey, redis-tls, redis-cluster, redis-cluster-tls, redis-near-cache, valkey-near-cache, redis-cluster-near-cache)"
    STASH_TEST_STORES=valkey,redis-tls,redis-cluster,redis-cluster-tls,redis-near-cache,valkey-near-cache,redis-cluster-near-cache \
        swift test --skip-build "$@" --filter "\.(RedisStoreConformanceTests|$suites)/"
    echo "==> swift test $* (the fault tests)"
    swift test --skip-build "$@" --filter "FaultTests"
}

# Starts every server the tests need (see test.sh), stopped at exit.
start_test_servers() {
    source scripts/redis.sh
    source scripts/valkey.sh
    source scripts/tls.sh
    source scripts/cluster.sh
    source scripts/postgres.sh
    start_redis
    start_valkey
    start_redis_tls
    start_redis_cluster
    start_redis_tls_cluster
    on_exit stop_postgres
    start_postgres
}
