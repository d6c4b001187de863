import PostgresNIO
public import Stash

extension PostgresStore {
    /// Decides a rate limit in one statement on the server, timed by the server's clock: the table's rate-limit
    /// function (see ``PostgresSchema``) locks the key's row, decides and writes in one round trip, so any number of
    /// instances sharing the table admit exactly the limit between them.
    /// - Throws: ``StoreError/Code/invalidKey`` for an invalid key; ``StoreError/Code/serverError`` when the function
    ///   is missing (a table migrated by hand with an earlier ``PostgresSchema/migrationSQL(table:)``).
    public func rateLimit(_ key: String, rule: RateLimitRule) async throws -> RateLimitDecision {
        try StoreValidation.validateKey(key)
        let algorithm: String
        var burst = 0
        switch rule.algorithm {
        case .fixedWindow: algorithm = "F"
        case .slidingWindow: algorithm = "S"
        case .tokenBucket(let size):
            algorithm = "G"
            burst = size
        }
        var binds = self.bindings(key)
        binds.append(algorithm)
        binds.append(Int64(rule.limit))
        binds.append(rule.windowMilliseconds)
        binds.append(Int64(burst))
        let query = PostgresQuery(unsafeSQL: self.storage.statements.rateLimit, binds: binds)
        let function = self.storage.statements.rateLimitFunction
        let row = try await self.storage.perform { connection in
            do {
                let rows = try await self.storage.rows(of: query, on: connection)
                return try rows.first?.decode((Bool, Int64, Int64, Int64, Int64).self)
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == "42883" {
                throw StoreError(
                    .serverError,
                    "PostgreSQL has no function \(function): run the migration of PostgresSchema.migrationSQL(table:) again",
                    underlying: error
                )
            }
        }
        guard let row else {
            throw StoreError(.protocolError, "PostgreSQL returned no rate-limit decision for key \(StoreError.describe(key))")
        }
        // The function answers -1 for the retry-after of an admitted request.
        return RateLimitDecision(
            isAllowed: row.0,
            limit: Int(row.1),
            remaining: Int(row.2),
            resetIn: .microseconds(row.3),
            retryAfter: row.4 < 0 ? nil : .microseconds(row.4)
        )
    }
}
