import PostgresNIO
import Stash

extension PostgresStorage {
    /// Creates the table, its index, the rate-limit function and the record function when any is missing, and
    /// replaces a rate-limit function of an older revision (see ``PostgresSchema``).
    ///
    /// When all four exist and are current it only looks, so a role without the `CREATE` privilege can use a table
    /// made by someone else. Otherwise it runs the whole migration in a transaction holding an advisory lock derived
    /// from the table's name, so two instances starting at once take turns instead of failing on each other's
    /// half-made table or function, and one that finds, once it holds the lock, that another has done it all commits
    /// at once; a table made before the store had its rate-limit or record function gets the function then. An older
    /// rate-limit function that this role may not replace stays in use, with a warning: it decides as before.
    func migrate(on connection: PostgresConnection) async throws {
        var names = PostgresBindings(capacity: 5)
        names.append(self.statements.table)
        names.append(self.statements.expiryIndex)
        names.append(self.statements.rateLimitSignature)
        names.append(self.statements.recordSignature)
        names.append(PostgresStatements.rateLimitFunctionRevision)
        // The answer is a SchemaState's raw value.
        let lookup = PostgresQuery(
            unsafeSQL: """
                SELECT CASE WHEN NOT (to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL \
                AND to_regprocedure($3) IS NOT NULL AND to_regprocedure($4) IS NOT NULL) THEN 0 \
                WHEN coalesce((SELECT position($5 IN prosrc) > 0 FROM pg_proc WHERE oid = to_regprocedure($3)), false) THEN 2 \
                ELSE 1 END
                """,
            binds: names
        )
        let found = try await self.schemaState(lookup, on: connection)
        if found == .current {
            return
        }
        var lock = PostgresBindings(capacity: 1)
        lock.append(Self.migrationLockKey(table: self.configuration.tableName))
        do {
            try await self.transaction(on: connection) {
                try await self.execute(PostgresQuery(unsafeSQL: "SELECT pg_advisory_xact_lock($1)", binds: lock), on: connection)
                // Instances that started together all looked before the first one's migration committed: each then
                // waited its turn for the lock, and finds the work done — one more look, not the whole migration again
                // (with a busy client each statement costs a round trip, and the waiters queue behind every one).
                if try await self.schemaState(lookup, on: connection) == .current { return }
                try await self.execute(PostgresQuery(unsafeSQL: self.statements.createTable), on: connection)
                try await self.execute(PostgresQuery(unsafeSQL: self.statements.createIndex), on: connection)
                try await self.execute(PostgresQuery(unsafeSQL: self.statements.createRateLimitFunction), on: connection)
                try await self.execute(PostgresQuery(unsafeSQL: self.statements.createRecordFunction), on: connection)
            }
        } catch  where found == .outdated && !(error is CancellationError) {
            // Everything is there, only older: a role without the privilege to replace the function keeps using it.
            self.logger.warning(
                "the table's rate-limit function is of an older revision and could not be replaced: run PostgresSchema.migrationSQL as its owner",
                metadata: ["stash.table": "\(self.configuration.tableName)", "error": "\(String(reflecting: error))"]
            )
        }
    }

    /// What the migration's look at the table and its functions found.
    enum SchemaState: Int {
        /// The table, its index or one of its functions is missing.
        case incomplete = 0
        /// All four are there, but the rate-limit function is of an older revision.
        case outdated = 1
        /// All four are there and current: there is nothing to do.
        case current = 2
    }

    /// Runs the migration's look (`lookup`, which answers a ``SchemaState``'s raw value).
    private func schemaState(_ lookup: PostgresQuery, on connection: PostgresConnection) async throws -> SchemaState {
        let answer = try await self.first(Int.self, of: lookup, on: connection)
        guard let answer, let state = SchemaState(rawValue: answer) else {
            throw StoreError(.protocolError, "PostgreSQL answered the schema lookup with \(answer.map(String.init) ?? "no row")")
        }
        return state
    }

    /// The advisory lock of a table's migration: a 64-bit FNV-1a hash of `stash.migration.` and the table's name, the
    /// same in every process.
    static func migrationLockKey(table: String) -> Int64 {
        Int64(bitPattern: FNV1a.hash("stash.migration.\(table)"))
    }
}
