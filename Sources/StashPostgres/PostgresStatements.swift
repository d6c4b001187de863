/// The SQL of every statement a ``PostgresStore`` runs on its table, built once per store.
///
/// Every value reaches the server as a bound parameter; only the table's name, checked to be a plain identifier and
/// quoted, is part of the text. Parameters are `$1` the namespace path, `$2` the key, then as each statement says.
/// Expiry is always judged by the server's clock: `clock_timestamp()`, not `now()`, which stands still for a whole
/// transaction (and for a statement that waited for a lock).
struct PostgresStatements: Sendable {
    /// The quoted table name.
    let table: String
    /// The quoted name of the index on `expires_at`.
    let expiryIndex: String
    /// The quoted name of the rate-limit function, `<table>_rate_limit`.
    let rateLimitFunction: String

    let createTable: String
    let createIndex: String
    let createRateLimitFunction: String
    /// The function's signature, for `to_regprocedure`.
    let rateLimitSignature: String
    let get: String
    let getRenewing: String
    let set: String
    let insert: String
    let delete: String
    let exists: String
    let expiry: String
    let increment: String
    let selectForUpdate: String
    let updateValue: String
    let updateValueAndExpiry: String
    let insertIfAbsent: String
    let deleteAll: String
    let deleteEverything: String
    let purgeNamespace: String
    let purgeEverything: String
    /// The pages of ``PostgresStore/keys(withPrefix:)``: the first or a later one, with or without a prefix.
    let keysFirst: String
    let keysFirstWithPrefix: String
    let keysAfter: String
    let keysAfterWithPrefix: String
    /// The call of the rate-limit function: `$3` the algorithm, `$4` the limit, `$5` the window in milliseconds, `$6`
    /// the burst.
    let rateLimit: String
    /// The quoted name of the record function, `<table>_record`.
    let recordFunction: String
    let createRecordFunction: String
    /// The record function's signature, for `to_regprocedure`.
    let recordSignature: String
    /// The call of the record function (see ``recordFunctionCall(_:)``).
    let record: String

    /// A row is live when it has no expiry or its expiry is still ahead on the server's clock.
    static let live = "(expires_at IS NULL OR expires_at > clock_timestamp())"

    /// The expiry of a time to live in milliseconds given as a parameter; `NULL` (no expiry) for a `NULL` parameter.
    static func expiresAt(_ parameter: String) -> String {
        "clock_timestamp() + \(parameter)::bigint * interval '1 millisecond'"
    }

    init(table name: String) {
        let table = "\"\(name)\""
        let live = Self.live
        let oneKey = "namespace = $1 AND key = $2"
        self.table = table
        self.expiryIndex = "\"\(name)_expires_at\""
        self.rateLimitFunction = "\"\(name)_rate_limit\""

        self.createTable = """
            CREATE TABLE IF NOT EXISTS \(table) (
                namespace text COLLATE "C" NOT NULL,
                key bytea NOT NULL,
                value bytea NOT NULL,
                expires_at timestamptz,
                PRIMARY KEY (namespace, key)
            )
            """
        self.createIndex = "CREATE INDEX IF NOT EXISTS \(self.expiryIndex) ON \(table) (expires_at) WHERE expires_at IS NOT NULL"
        self.createRateLimitFunction = Self.rateLimitFunctionDefinition(table: table, function: self.rateLimitFunction)
        self.rateLimitSignature = Self.rateLimitFunctionSignature(self.rateLimitFunction)

        self.get = "SELECT value FROM \(table) WHERE \(oneKey) AND \(live)"
        // $3: the new time to live. A row without an expiry is read, never given one.
        self.getRenewing = """
            WITH renewed AS (
                UPDATE \(table) SET expires_at = \(Self.expiresAt("$3"))
                WHERE \(oneKey) AND expires_at > clock_timestamp()
                RETURNING value
            )
            SELECT value FROM renewed
            UNION ALL
            SELECT value FROM \(table) WHERE \(oneKey) AND expires_at IS NULL
            """
        // $3: the value, $4: the time to live or NULL.
        self.set = """
            INSERT INTO \(table) (namespace, key, value, expires_at) VALUES ($1, $2, $3, \(Self.expiresAt("$4")))
            ON CONFLICT (namespace, key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at
            """
        // Returns a row only when it stored the value: the key was missing, or its row had expired.
        self.insert = """
            INSERT INTO \(table) AS entry (namespace, key, value, expires_at) VALUES ($1, $2, $3, \(Self.expiresAt("$4")))
            ON CONFLICT (namespace, key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at
            WHERE entry.expires_at <= clock_timestamp()
            RETURNING 1::int4
            """
        self.delete = "DELETE FROM \(table) WHERE \(oneKey)"
        self.exists = "SELECT 1::int4 FROM \(table) WHERE \(oneKey) AND \(live)"
        // -1 for no expiry, else the milliseconds left, rounded up and at least 1.
        self.expiry = """
            SELECT CASE WHEN expires_at IS NULL THEN -1
                        ELSE greatest(1, ceil(extract(epoch FROM expires_at - clock_timestamp()) * 1000))::bigint END
            FROM \(table) WHERE \(oneKey) AND \(live)
            """
        // $3: the new counter's value (initial value + amount), $4: its time to live or NULL, $5: the amount.
        // A live row must hold a canonical decimal integer (as StoreCounter.parse has it); anything else is made to
        // fail the cast to bigint (SQLSTATE 22P02), and a result out of range fails with 22003, changing nothing.
        // An expired row starts again from $3 with the new expiry; the expiry is judged once for both columns.
        self.increment = """
            INSERT INTO \(table) AS entry (namespace, key, value, expires_at)
            VALUES ($1, $2, convert_to($3::bigint::text, 'UTF8'), \(Self.expiresAt("$4")))
            ON CONFLICT (namespace, key) DO UPDATE SET (value, expires_at) = (
                SELECT CASE WHEN judged.expired THEN EXCLUDED.value
                            ELSE convert_to(((CASE WHEN encode(entry.value, 'escape') ~ '^(0|-?[1-9][0-9]{0,18})$'
                                                   THEN encode(entry.value, 'escape')
                                                   ELSE encode(entry.value, 'escape') || ' is not a counter' END
                                             )::bigint + $5::bigint)::text, 'UTF8') END,
                       CASE WHEN judged.expired THEN EXCLUDED.expires_at ELSE entry.expires_at END
                FROM (SELECT entry.expires_at <= clock_timestamp() AS expired) AS judged
            )
            RETURNING value
            """
        // The row, locked, expired or not: 0 live without expiry, 1 live with one, 2 expired.
        self.selectForUpdate = """
            SELECT value, CASE WHEN expires_at IS NULL THEN 0 WHEN expires_at > clock_timestamp() THEN 1 ELSE 2 END::int4
            FROM \(table) WHERE \(oneKey) FOR UPDATE
            """
        // $3: the value.
        self.updateValue = "UPDATE \(table) SET value = $3 WHERE \(oneKey)"
        // $3: the value, $4: the time to live or NULL.
        self.updateValueAndExpiry = "UPDATE \(table) SET value = $3, expires_at = \(Self.expiresAt("$4")) WHERE \(oneKey)"
        // $3: the value, $4: the time to live or NULL; returns a row only when it inserted one.
        self.insertIfAbsent = """
            INSERT INTO \(table) (namespace, key, value, expires_at) VALUES ($1, $2, $3, \(Self.expiresAt("$4")))
            ON CONFLICT (namespace, key) DO NOTHING
            RETURNING 1::int4
            """
        // $1: the namespace path, $2: the same path with its final '/' replaced by '0', the next character: every
        // path starting with $1 (the namespace and its children) and nothing else lies in [$1, $2).
        self.deleteAll = "DELETE FROM \(table) WHERE namespace >= $1 AND namespace < $2"
        self.deleteEverything = "DELETE FROM \(table)"
        // Purges at most $3 (or $1) expired rows; rows locked by a running statement are left for the next batch.
        // `now()` is the statement's start: fine for a purge, and it lets the index on expires_at find the rows.
        self.purgeNamespace = Self.purge(table: table, where: "namespace >= $1 AND namespace < $2 AND", limit: "$3")
        self.purgeEverything = Self.purge(table: table, where: "", limit: "$1")
        self.keysFirst = Self.keysPage(table: table, first: true, bounded: false)
        self.keysFirstWithPrefix = Self.keysPage(table: table, first: true, bounded: true)
        self.keysAfter = Self.keysPage(table: table, first: false, bounded: false)
        self.keysAfterWithPrefix = Self.keysPage(table: table, first: false, bounded: true)
        self.rateLimit = Self.rateLimitFunctionCall(self.rateLimitFunction)
        self.recordFunction = "\"\(name)_record\""
        self.createRecordFunction = Self.recordFunctionDefinition(table: table, function: self.recordFunction)
        self.recordSignature = Self.recordFunctionSignature(self.recordFunction)
        self.record = Self.recordFunctionCall(self.recordFunction)
    }

    private static func purge(table: String, where namespaceCondition: String, limit: String) -> String {
        """
        WITH doomed AS (
            SELECT namespace, key FROM \(table) WHERE \(namespaceCondition) expires_at <= now()
            LIMIT \(limit) FOR UPDATE SKIP LOCKED
        ), deleted AS (
            DELETE FROM \(table) AS entry USING doomed
            WHERE entry.namespace = doomed.namespace AND entry.key = doomed.key AND entry.expires_at <= now()
            RETURNING 1
        )
        SELECT count(*) FROM deleted
        """
    }

    /// A page of live keys in byte order (keyset pagination): `$1` the namespace path, `$2` the prefix (first page) or
    /// the last key listed (later pages), then, with a prefix, `$3` the first byte string after every key starting
    /// with it, and last the page size.
    private static func keysPage(table: String, first: Bool, bounded: Bool) -> String {
        let lower = first ? "key >= $2" : "key > $2"
        let upper = bounded ? " AND key < $3" : ""
        let limit = bounded ? "$4" : "$3"
        return "SELECT key FROM \(table) WHERE namespace = $1 AND \(lower)\(upper) AND \(Self.live) ORDER BY key LIMIT \(limit)"
    }
}
