#!/usr/bin/env bash
# Runs the whole test suite under a sanitizer, with the same real servers as scripts/test.sh.
#
#   scripts/sanitize.sh                   # ThreadSanitizer, then AddressSanitizer
#   scripts/sanitize.sh thread            # one of them
#   scripts/sanitize.sh thread --filter X # extra arguments go to `swift test` (instead of the suite's phases)
#
# Each sanitizer builds into its own scratch directory (.build-tsan, .build-asan), apart from the normal build: a
# first build takes as long as a clean one. A report fails the run: ThreadSanitizer and AddressSanitizer stop the
# test process at the first one (halt_on_error), so a race or a memory error is never a warning scrolled past; set
# TSAN_OPTIONS or ASAN_OPTIONS (e.g. halt_on_error=0) to collect every report of a run instead.
# ThreadSanitizer: no suppressions. A race found is fixed; a suppression would need a comment proving the race benign.
# The one thing it is told is what Stash's lock does (Locked, built with -DSTASH_TSAN here), since it cannot see inside
# the toolchain's Mutex on Linux. AddressSanitizer's leak check: the suppressions in scripts/lsan.supp, each explained.
set -euo pipefail
cd "$(dirname "$0")/.."

sanitizers=(thread address)
if [ $# -gt 0 ] && [[ "$1" != -* ]]; then
    case "$1" in
    thread | address) sanitizers=("$1") ;;
    all) ;;
    *)
        echo "unknown sanitizer '$1': thread, address or all" >&2
        exit 2
        ;;
    esac
    shift
fi

source scripts/common.sh
source scripts/suite.sh
start_test_servers

# halt_on_error: the first report ends the process with an error, and the run fails. second_deadlock_stack: a lock
# inversion report shows both stacks.
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}"
# LeakSanitizer checks every process at its exit (the test processes, and each stash-demo and stash-test-worker they
# start): what is still allocated and unreachable fails the run. scripts/lsan.supp lists what it must not count, each
# entry with its reason (values held until exit in Swift's multi-payload enums, which it cannot follow; the Hummingbird
# test framework's own channels; XCTest's records).
export ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$PWD/scripts/lsan.supp:print_suppressions=0}"
# Instrumented code runs several times slower: at most this many tests at once (Swift Testing's own setting), so
# that tests bounded in real time (a server's answer within 30 s) measure the code, not two cores shared by hundreds
# of tests.
export SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH="${STASH_SANITIZE_WIDTH:-4}"
# A test process stopped by a report leaves the programs it started (stash-demo, stash-test-worker) running.
on_exit "pkill -f '$PWD/.build-[at]san/' || true"

for sanitizer in "${sanitizers[@]}"; do
    scratch_path=".build-${sanitizer:0:1}san"
    options=(--scratch-path "$scratch_path" --sanitize="$sanitizer")
    # Stash's lock (Sources/Stash/Locked.swift) tells ThreadSanitizer what it does only when built with STASH_TSAN:
    # the toolchain's Mutex locks where ThreadSanitizer cannot see.
    [ "$sanitizer" != thread ] || options+=(-Xswiftc -DSTASH_TSAN)
    echo "==> swift build --build-tests ${options[*]}"
    start=$SECONDS
    swift build --build-tests "${options[@]}"
    echo "==> built in $((SECONDS - start)) s"
    start=$SECONDS
    if [ $# -gt 0 ]; then
        swift test --skip-build "${options[@]}" "$@"
    else
        run_suite "${options[@]}"
    fi
    echo "==> $sanitizer: the tests passed in $((SECONDS - start)) s"
done
