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
/// By default the store runs this migration itself before its first statement (``PostgresStore/Configuration/createsTable``),
/// in a transaction holding a transaction-level advisory lock (`pg_advisory_xact_lock`) derived from the table's
/// name, so that instances starting together neither fail nor wait on each other for long; when the table and its
/// index already exist it only checks that they do, so the role needs no `CREATE` privilege then. Teams that run
/// their own migrations run ``migrationSQL(table:)`` and set ``PostgresStore/Configuration/createsTable`` to `false`.
public enum PostgresSchema {
    /// The SQL that creates the store's table and its index when they are missing: two statements, each ending with
    /// `;`, safe to run again.
    /// - Parameter table: The table's name, as in ``PostgresStore/Configuration/tableName``.
    /// - Throws: ``StoreError/Code/invalidConfiguration`` for an invalid table name.
    public static func migrationSQL(table: String = "stash") throws -> String {
        try PostgresStore.Configuration.validateTableName(table)
        let statements = PostgresStatements(table: table)
        return statements.createTable + ";\n" + statements.createIndex + ";\n"
    }
}
