#!/usr/bin/env bash
# Runs Stash's whole test suite: builds every target (benchmarks included, so they never rot) and runs the tests.
# Later backends add the servers they need here (installed from Debian packages and started on loopback).
#
#   scripts/test.sh                  # everything
#   scripts/test.sh --filter FileStore   # extra arguments go to `swift test`
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v swift >/dev/null 2>&1; then
    echo "error: the Swift toolchain (swift) is not on PATH" >&2
    exit 1
fi

# PostgreSQL: installed from Debian's packages when missing, a throw-away cluster on a free loopback port; the tests
# find it through STASH_POSTGRES_URL (and STASH_POSTGRES_BIN, to run clusters of their own).
source scripts/postgres.sh

scratch=$(mktemp -d -t stash-test.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    stop_postgres
    rm -rf "$scratch"
}
trap cleanup EXIT

start_postgres

echo "==> swift build --build-tests"
swift build --build-tests

echo "==> swift test"
swift test --skip-build "$@"
