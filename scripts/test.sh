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

echo "==> swift build --build-tests"
swift build --build-tests

echo "==> swift test"
swift test --skip-build "$@"
