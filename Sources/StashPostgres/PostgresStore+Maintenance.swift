import PostgresNIO
import Stash

extension PostgresStore {
    /// Removes every key of this namespace and of its children, in one statement over a range of the primary key;
    /// on the root store, every row of the table.
    ///
    /// The range is `[path, next)` where `next` is the namespace's path with its final `/` replaced by `0`, the
    /// character after it: no `LIKE` pattern, so `_` in a name (`a_b`) never matches another character (`aXb`).
    public func deleteAll() async throws {
        let query: PostgresQuery
        if let end = self.namespaceEnd {
            var binds = PostgresBindings(capacity: 2)
            binds.append(self.namespace)
            binds.append(end)
            query = PostgresQuery(unsafeSQL: self.storage.statements.deleteAll, binds: binds)
        } else {
            query = PostgresQuery(unsafeSQL: self.storage.statements.deleteEverything)
        }
        try await self.storage.perform { connection in
            try await self.storage.execute(query, on: connection)
        }
    }

    /// Removes the expired rows of this namespace and of its children, in batches of at most
    /// ``Configuration/purgeBatchSize`` rows, each its own statement, until none is left.
    public func deleteExpired() async throws {
        _ = try await self.purgeExpired()
    }

    /// Purges expired rows in batches.
    /// - Returns: How many rows were deleted, and in how many statements.
    @discardableResult
    func purgeExpired() async throws -> (rows: Int, batches: Int) {
        let batchSize = self.storage.configuration.purgeBatchSize
        let query: PostgresQuery
        var binds = PostgresBindings(capacity: 3)
        if let end = self.namespaceEnd {
            binds.append(self.namespace)
            binds.append(end)
            binds.append(Int64(batchSize))
            query = PostgresQuery(unsafeSQL: self.storage.statements.purgeNamespace, binds: binds)
        } else {
            binds.append(Int64(batchSize))
            query = PostgresQuery(unsafeSQL: self.storage.statements.purgeEverything, binds: binds)
        }
        var rows = 0
        var batches = 0
        while true {
            let deleted = try await self.storage.perform { connection in
                try await self.storage.first(Int64.self, of: query, on: connection) ?? 0
            }
            rows += Int(deleted)
            batches += 1
            // A short batch means none was left, apart from rows another statement held locked.
            guard deleted >= batchSize else { return (rows, batches) }
            try Task.checkCancellation()
        }
    }

    /// The first namespace path after this namespace and all its children's, or `nil` for the root store.
    var namespaceEnd: String? {
        guard !self.namespace.isEmpty else { return nil }
        return String(self.namespace.dropLast()) + "0"
    }
}
