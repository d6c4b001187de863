import PostgresNIO

extension PostgresStorage {
    /// Creates the table, its index, the rate-limit function and the record function when any is missing (see
    /// ``PostgresSchema``).
    ///
    /// When all four exist it only looks, so a role without the `CREATE` privilege can use a table made by someone
    /// else. Otherwise it runs the whole migration in a transaction holding an advisory lock derived from the table's
    /// name, so two instances starting at once take turns instead of failing on each other's half-made table or
    /// function, and one that finds, once it holds the lock, that another has done it all commits at once; a table
    /// made before the store had its rate-limit or record function gets the function then.
    func migrate(on connection: PostgresConnection) async throws {
        var names = PostgresBindings(capacity: 4)
        names.append(self.statements.table)
        names.append(self.statements.expiryIndex)
        names.append(self.statements.rateLimitSignature)
        names.append(self.statements.recordSignature)
        let lookup = PostgresQuery(
            unsafeSQL: """
                SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL AND to_regprocedure($3) IS NOT NULL \
                AND to_regprocedure($4) IS NOT NULL
                """,
            binds: names
        )
        if try await self.first(Bool.self, of: lookup, on: connection) == true {
            return
        }
        var lock = PostgresBindings(capacity: 1)
        lock.append(Self.migrationLockKey(table: self.configuration.tableName))
        try await self.transaction(on: connection) {
            try await self.execute(PostgresQuery(unsafeSQL: "SELECT pg_advisory_xact_lock($1)", binds: lock), on: connection)
            // Instances that started together all looked before the first one's migration committed: each then
            // waited its turn for the lock, and finds the work done — one more look, not the whole migration again
            // (with a busy client each statement costs a round trip, and the waiters queue behind every one).
            if try await self.first(Bool.self, of: lookup, on: connection) == true { return }
            try await self.execute(PostgresQuery(unsafeSQL: self.statements.createTable), on: connection)
            try await self.execute(PostgresQuery(unsafeSQL: self.statements.createIndex), on: connection)
            try await self.execute(PostgresQuery(unsafeSQL: self.statements.createRateLimitFunction), on: connection)
            try await self.execute(PostgresQuery(unsafeSQL: self.statements.createRecordFunction), on: connection)
        }
    }

    /// The advisory lock of a table's migration: a 64-bit FNV-1a hash of `stash.migration.` and the table's name, the
    /// same in every process.
    static func migrationLockKey(table: String) -> Int64 {
        Int64(bitPattern: FNV1a.hash("stash.migration.\(table)"))
    }
}
