import PostgresNIO
public import Stash

extension PostgresStore {
    /// Decides a rate limit (or adjusts, refunds or blocks) in one statement on the server, timed by the server's clock: the table's rate-limit
    /// function (see ``PostgresSchema``) locks the key's row, decides and writes in one round trip, so any number of
    /// instances sharing the table admit exactly the limit between them.
    /// - Throws: ``/Stash/StoreError/Code/invalidKey`` for an invalid key; ``/Stash/StoreError/Code/serverError`` when the function
    ///   is missing (a table migrated by hand with an earlier ``PostgresSchema/migrationSQL(table:)``).
    public func rateLimit(_ key: String, rule: RateLimitRule, _ operation: RateLimitOperation) async throws -> RateLimitDecision {
        try StoreValidation.validateKey(key)
        try rule.validate(operation)
        let arguments = rule.serverArguments
        let action = operation.serverArguments
        var binds = self.bindings(key)
        binds.append(arguments.algorithm)
        binds.append(arguments.limit)
        binds.append(arguments.windowMilliseconds)
        binds.append(arguments.burst)
        binds.append(rule.blockMilliseconds)
        binds.append(action.operation)
        binds.append(action.amount)
        binds.append(action.window)
        let query = PostgresQuery(unsafeSQL: self.storage.statements.rateLimit, binds: binds)
        let rows = try await self.storage.calling(self.storage.statements.rateLimitFunction, query)
        let row: (Bool, Int64, Int64, Int64, Int64, Int64)?
        do {
            row = try rows.first?.decode((Bool, Int64, Int64, Int64, Int64, Int64).self)
        } catch {
            throw PostgresStorage.storeError(error)
        }
        guard let row else {
            throw StoreError(.protocolError, "PostgreSQL returned no rate-limit decision for key \(StoreError.describe(key))")
        }
        return RateLimitDecision(
            server: row.0,
            limit: row.1,
            remaining: row.2,
            resetInMicroseconds: row.3,
            retryAfterMicroseconds: row.4,
            windowStart: row.5,
            operation: operation
        )
    }
}
