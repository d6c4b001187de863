import Stash

/// The table a ``PostgresStore`` keeps its entries in, and the SQL that creates it.
///
/// With the default table name, `stash`, the schema is:
///
/// ```sql
/// CREATE TABLE IF NOT EXISTS "stash" (
///     namespace text COLLATE "C" NOT NULL,
///     key bytea NOT NULL,
///     value bytea NOT NULL,
///     expires_at timestamptz,
///     PRIMARY KEY (namespace, key)
/// );
/// CREATE INDEX IF NOT EXISTS "stash_expires_at" ON "stash" (expires_at) WHERE expires_at IS NOT NULL;
/// ```
///
/// - `namespace` is the path of the entry's namespace: `''` for the root store, each name followed by `/` below it
///   (`'sessions/'`, `'a/child/'`). The `"C"` collation compares it byte by byte, so a namespace and its children
///   are one range of the primary key.
/// - `key` holds the key's UTF-8 bytes: keys may hold any character, NUL included, which `text` cannot, and keys are
///   compared byte for byte in every store.
/// - `expires_at` is `NULL` for an entry that never expires; a row whose `expires_at` is not after the server's
///   `clock_timestamp()` is expired, and every statement treats it as missing.
/// - the partial index on `expires_at` lets the background purge find expired rows without reading the table.
///
/// The migration also creates (`CREATE OR REPLACE`) a PL/pgSQL function named after the table, `"stash_rate_limit"`
/// for `stash`, with which ``PostgresStore/rateLimit(_:rule:_:)`` decides each request (or adjusts, refunds or blocks
/// a key) in one statement:
///
/// ```sql
/// CREATE OR REPLACE FUNCTION "stash_rate_limit"(
///     entry_namespace text, entry_key bytea, algorithm text, request_limit bigint, window_ms bigint, burst bigint,
///     block_ms bigint, operation_code text, amount bigint, operation_window bigint,
///     OUT allowed boolean, OUT "limit" bigint, OUT remaining bigint, OUT reset_us bigint, OUT retry_after_us bigint,
///     OUT window_start bigint
/// ) LANGUAGE plpgsql VOLATILE AS $function$ … $function$;
/// ```
///
/// It locks the key's row, reads the server's `clock_timestamp()`, decides as
/// `RateLimitRule.decide(state:now:operation:)` does (the fixed window, the sliding window or the token bucket, `F`,
/// `S` or `G`, and a blocked key, `B`) and writes the new state with its expiry, never for a refusal unless the rule
/// blocks; a key without a row is inserted, and decided again under the lock of
/// the row a concurrent call inserted first. ``migrationSQL(table:)`` holds the whole function.
///
/// The record operations (``PostgresStore/mergeRecord(_:_:)`` and the others) run in one call each of a second
/// function, `"stash_record"(text, bytea, text, bigint, text, text[], text[], text, bigint)`, which locks the
/// record's row and reads or changes its fields server-side. A record is kept in `value` as the byte `0xA5` followed
/// by a JSON object of its fields' names and values in hexadecimal.
///
/// By default the store runs this migration itself before its first statement (``PostgresStore/Configuration/createsTable``),
/// in a transaction holding a transaction-level advisory lock (`pg_advisory_xact_lock`) derived from the table's
/// name, so that instances starting together neither fail nor wait on each other for long; when the table, its
/// index and the functions already exist it only checks that they do (`to_regclass`, `to_regprocedure`), so the role
/// needs no `CREATE` privilege then. A table made by an earlier version of the store, without a function, gets the
/// function on the next start, and a rate-limit function of an earlier revision (the body carries its revision as a
/// comment) is replaced then; a role that may not replace it keeps using it, with a warning in the store's log. Teams that run their own migrations run ``migrationSQL(table:)`` and set
/// ``PostgresStore/Configuration/createsTable`` to `false`.
public enum PostgresSchema {
    /// The SQL that creates the store's table and its index when they are missing, and creates or replaces its
    /// rate-limit and record functions: four statements, each ending with `;`, safe to run again.
    /// - Parameter table: The table's name, as in ``PostgresStore/Configuration/tableName``.
    /// - Throws: ``/Stash/StoreError/Code/invalidConfiguration`` for an invalid table name.
    public static func migrationSQL(table: String = "stash") throws -> String {
        try PostgresStore.Configuration.validateTableName(table)
        let statements = PostgresStatements(table: table)
        return statements.createTable + ";\n" + statements.createIndex + ";\n" + statements.createRateLimitFunction + ";\n"
            + statements.createRecordFunction + ";\n"
    }
}
