#!/usr/bin/env bash
# Fuzzes Stash's parsers with libFuzzer, one target after another.
#
#   scripts/fuzz.sh                    # every target for 60 s each
#   scripts/fuzz.sh resp 600           # one target for 10 minutes
#   scripts/fuzz.sh all 30             # every target for 30 s each (what CI runs)
#
# Builds `stash-fuzz` with `-sanitize=fuzzer,address` into .build-fuzz (apart from the normal build), then runs each
# target with its committed corpus (Fuzz/Corpus/TARGET, read only) and a working corpus under .build-fuzz/corpus. A
# crash, a leak or an input slower than 10 s stops the run: libFuzzer leaves the input in .build-fuzz/findings, the
# script prints it, and `swift run stash-fuzz TARGET FILE` replays it without libFuzzer. Copy it into
# Fuzz/Corpus/TARGET once fixed: the test suite replays every corpus (FuzzCorpusTests).
set -euo pipefail
cd "$(dirname "$0")/.."

target="${1:-all}"
seconds="${2:-60}"
targets=(resp cookie cache-control etag forwarded store-url session-record cache-entry file-entry snapshot rate-limit-state)
if [ "$target" != all ]; then
    if [[ ! " ${targets[*]} " =~ " $target " ]]; then
        echo "unknown target '$target': one of ${targets[*]}, or all" >&2
        exit 2
    fi
    targets=("$target")
fi

echo "==> swift build --product stash-fuzz (libFuzzer, AddressSanitizer) into .build-fuzz"
swift build --scratch-path .build-fuzz --product stash-fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -DSTASH_FUZZ
binary=".build-fuzz/debug/stash-fuzz"
mkdir -p .build-fuzz/findings

status=0
for name in "${targets[@]}"; do
    work=".build-fuzz/corpus/$name"
    mkdir -p "$work"
    echo "==> $name for ${seconds} s"
    # -timeout: an input slower than 10 s is a hang; -rss_limit_mb bounds memory; -dict-free, corpus-driven.
    if ! STASH_FUZZ_TARGET="$name" ASAN_OPTIONS=detect_leaks=1 "$binary" "$work" "Fuzz/Corpus/$name" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -max_len=4096 \
        -artifact_prefix=".build-fuzz/findings/$name-" -print_final_stats=1 > ".build-fuzz/$name.log" 2>&1; then
        status=1
        echo "!! $name found something:"
        grep -E "ERROR|SUMMARY|Fatal error|Test unit written" ".build-fuzz/$name.log" | head -10
    fi
    grep -E "^stat::number_of_executed_units|^stat::new_units_added|^stat::peak_rss_mb" ".build-fuzz/$name.log" | tr '\n' ' '
    echo
done
exit $status
