#!/usr/bin/env bash
# Measures PostgresStore beside pgbench on one throw-away PostgreSQL cluster, so the figures read as ratios.
#
#   scripts/bench-postgres.sh                # pgbench, then the PostgresBenchmarks target
#   BENCH_SECONDS=5 scripts/bench-postgres.sh
#
# The table is the store's own (stash_bench, the schema of PostgresSchema) with 10,000 rows of 100 bytes in the
# namespace `bench/`. pgbench runs a custom script doing the store's single-row SELECT by primary key (the live-row
# filter included) of one key, at -c 1 and -c 32, in each of its query modes: `simple` (one Query message),
# `extended` (an unnamed statement parsed on every execution) and `prepared` (parsed once per connection: what
# PostgresStore sends, by default). Then package-benchmark runs PostgresStore get (hit) and set with 1 and 32
# concurrent tasks (a pool of 32 connections, 8 of them shared by the store's statements) against the same server.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${BENCH_SECONDS:-10}

source scripts/common.sh
source scripts/postgres.sh
on_exit stop_postgres
start_postgres

psql_stash() {
    "$STASH_POSTGRES_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$postgres_port" -U stash -d stash "$@"
}

psql_stash <<'SQL'
CREATE TABLE IF NOT EXISTS "stash_bench" (
    namespace text COLLATE "C" NOT NULL,
    key bytea NOT NULL,
    value bytea NOT NULL,
    expires_at timestamptz,
    PRIMARY KEY (namespace, key)
);
CREATE INDEX IF NOT EXISTS "stash_bench_expires_at" ON "stash_bench" (expires_at) WHERE expires_at IS NOT NULL;
INSERT INTO stash_bench (namespace, key, value, expires_at)
SELECT 'bench/', convert_to('user:' || n || ':session', 'UTF8'), convert_to(repeat('a', 100), 'UTF8'), now() + interval '1 day'
FROM generate_series(0, 9999) AS n;
VACUUM ANALYZE stash_bench;
SQL

# The store's get, with the key 'user:4321:session' as its bytes.
cat >"$scratch/get.sql" <<'SQL'
SELECT value FROM "stash_bench" WHERE namespace = 'bench/' AND key = '\x757365723a343332313a73657373696f6e'::bytea AND (expires_at IS NULL OR expires_at > clock_timestamp());
SQL

declare -A tps
echo "==> pgbench: the store's get as a custom script, ${seconds} s per run"
for clients in 1 32; do
    threads=$((clients == 1 ? 1 : 2))
    for mode in simple extended prepared; do
        result=$("$STASH_POSTGRES_BIN/pgbench" -n -h 127.0.0.1 -p "$postgres_port" -U stash -f "$scratch/get.sql" \
            -c "$clients" -j "$threads" -T "$seconds" -M "$mode" stash 2>&1)
        tps[$mode,$clients]=$(echo "$result" | awk '/^tps = / {printf "%d", $3}')
        echo "pgbench -c $clients -j $threads -M $mode: ${tps[$mode,$clients]} tps"
    done
done

echo "==> package-benchmark: PostgresBenchmarks (PostgresStore get and set, 1 and 32 tasks)"
swift package --allow-writing-to-package-directory benchmark --target PostgresBenchmarks --no-progress 2>&1 | tee "$scratch/benchmark.txt"

echo
echo "==> Summary (transactions or operations per second)"
for clients in 1 32; do
    echo "pgbench -c $clients: simple ${tps[simple,$clients]}, extended ${tps[extended,$clients]}, prepared ${tps[prepared,$clients]} tps"
done
echo "PostgresStore: the throughput (# / s) rows above are operations per second (each iteration is 1,000 operations);"
echo "divide the get rows by pgbench's tps at the same concurrency for the ratio: its prepared mode sends what the"
echo "store sends; simple and extended parse the statement on every execution."
