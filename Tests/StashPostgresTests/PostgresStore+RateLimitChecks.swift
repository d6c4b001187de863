import NIOCore
import PostgresNIO
import Stash
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

    /// Runs one rate-limit decision on the server and checks that it is exactly what `RateLimitRule.decide` decides
    /// from the state stored before it, at an instant of the server's clock during the call, and that it left the
    /// state `decide` says (or, refused, the state as it was).
    ///
    /// The instant the server's function read is recovered from the answer: the reset of a window, with the window's
    /// start in the state, or the reset of a token bucket, with the bucket's timestamp in the state.
    func checkedRateLimit(
        _ key: String,
        rule: RateLimitRule,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> RateLimitDecision {
        let before = try await self.get(key)
        let start = try await self.serverMicroseconds()
        let decision = try await self.rateLimit(key, rule: rule)
        let end = try await self.serverMicroseconds()
        let after = try await self.get(key)

        let instants = Self.instants(of: decision, rule: rule, states: [before, after])
        let agrees = instants.contains { now in
            // Windows are decided in whole milliseconds: the instant read lies in the millisecond `now` starts.
            guard now > start - 1000, now <= end else { return false }
            let step = rule.decide(state: before, now: .microseconds(now))
            return step.decision == decision && (step.newState ?? before) == after
        }
        #expect(
            agrees,
            """
            \(rule.algorithm): the server decided \(decision) leaving \(after.map { String(buffer: $0) } ?? "nothing") from \
            \(before.map { String(buffer: $0) } ?? "no state"), which RateLimitRule.decide does not at any instant of \
            \(instants) within \(start)...\(end)
            """,
            sourceLocation: sourceLocation
        )
        return decision
    }

    /// The instants, in microseconds since the epoch, at which a decision may have been made: for windows, each
    /// window start a state names (or the window after it) plus the window, less the reset; for a token bucket, each
    /// timestamp a state names less the reset.
    private static func instants(of decision: RateLimitDecision, rule: RateLimitRule, states: [ByteBuffer?]) -> [Int64] {
        let (seconds, attoseconds) = decision.resetIn.components
        let reset = seconds * 1_000_000 + attoseconds / 1_000_000_000_000
        let stamps = states.compactMap { state -> Int64? in
            guard let state else { return nil }
            let fields = String(buffer: state).split(separator: " ")
            return fields.count >= 2 ? Int64(fields[1]) : nil
        }
        switch rule.algorithm {
        case .fixedWindow, .slidingWindow:
            let window = rule.windowMilliseconds
            return stamps.flatMap { start in [start, start + window].map { ($0 + window) * 1000 - reset } }
        case .tokenBucket:
            return stamps.map { $0 - reset }
        }
    }
}
