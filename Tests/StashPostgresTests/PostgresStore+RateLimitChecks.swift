import NIOCore
import PostgresNIO
import Stash
import StashTesting
import Testing

@testable import StashPostgres

extension PostgresStore {
    /// The server's `clock_timestamp()`, in microseconds since the Unix epoch.
    func serverMicroseconds() async throws -> Int64 {
        let query = PostgresQuery(
            unsafeSQL: """
                SELECT floor(extract(epoch FROM c))::bigint * 1000000 + extract(microseconds FROM c)::bigint % 1000000
                FROM (SELECT clock_timestamp() AS c) AS clock
                """
        )
        let now = try await self.storage.perform { connection in
            try await self.storage.first(Int64.self, of: query, on: connection)
        }
        return try #require(now)
    }

    /// The `expires_at` of a key's row, expired or not, in microseconds since the Unix epoch; `nil` for no row or no
    /// expiry.
    func rowExpiry(_ key: String) async throws -> Int64? {
        let query = PostgresQuery(
            unsafeSQL: """
                SELECT floor(extract(epoch FROM expires_at))::bigint * 1000000 + extract(microseconds FROM expires_at)::bigint % 1000000
                FROM \(self.storage.statements.table) WHERE namespace = $1 AND key = $2
                """,
            binds: self.bindings(key)
        )
        return try await self.storage.perform { connection in
            try await self.storage.first(Int64?.self, of: query, on: connection) ?? nil
        }
    }

    /// Moves a key's row's expiry by `milliseconds` from the server's clock now, behind the store's back: a negative
    /// or zero amount makes the row expired, whatever it holds.
    func moveRowExpiry(_ key: String, milliseconds: Int64) async throws {
        var binds = self.bindings(key)
        binds.append(milliseconds)
        let query = PostgresQuery(
            unsafeSQL: """
                UPDATE \(self.storage.statements.table) SET expires_at = clock_timestamp() + $3::bigint * interval '1 millisecond'
                WHERE namespace = $1 AND key = $2
                """,
            binds: binds
        )
        try await self.storage.perform { connection in
            try await self.storage.execute(query, on: connection)
        }
    }

    /// Runs one rate-limit decision on the server and checks it against `RateLimitRule.decide` at an instant of the
    /// server's clock during the call (``StashTesting/RateLimitAgreement``).
    func checkedRateLimit(
        _ key: String,
        rule: RateLimitRule,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> RateLimitDecision {
        try await RateLimitAgreement(store: self, serverMicroseconds: self.serverMicroseconds)
            .checkedRateLimit(key, rule: rule, sourceLocation: sourceLocation)
    }
}
