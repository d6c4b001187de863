import NIOCore
import Stash
import StashTesting
import Testing

@testable import StashPostgres

/// How the rate limit's function keeps its state in the table: the row's expiry on the server's clock, rows that
/// are expired or hold something else, instances sharing a limit, and the migration that creates the function.
@Suite struct PostgresRateLimitStateTests {
    static let algorithms: [RateLimitRule.Algorithm] = [.fixedWindow, .slidingWindow, .tokenBucket(burst: 2)]

    /// The row ends exactly when its state stops meaning anything: at the window's end, the next window's end for a
    /// sliding window (its count weighs on that one), for a token bucket the first whole millisecond it is full again.
    @Test(arguments: Self.algorithms)
    func theStateRowExpiresToTheMillisecondOnTheServerClock(_ algorithm: RateLimitRule.Algorithm) async throws {
        try await withPostgresStore { root in
            let store = try root.withNamespace(PostgresTestServer.uniqueName("expiry"))
            // An hour: the row is still there to look at right after the decision.
            let rule = try RateLimitRule(limit: 2, per: .seconds(3600), algorithm: algorithm)
            let window = rule.windowMilliseconds
            let decision = try await store.checkedRateLimit("client", rule: rule)
            #expect(decision.isAllowed)
            let state = String(buffer: try #require(try await store.get("client")))
            let stamp = try #require(state.split(separator: " ").dropFirst().first.flatMap { Int64($0) })
            let expiry = try #require(try await store.rowExpiry("client"))
            let (seconds, attoseconds) = decision.resetIn.components
            let reset = seconds * 1_000_000 + attoseconds / 1_000_000_000_000
            switch algorithm {
            case .fixedWindow:
                #expect(expiry == (stamp + window) * 1000, "\(state) expires at its window's end")
            case .slidingWindow:
                #expect(expiry == (stamp + 2 * window) * 1000, "\(state) expires at the next window's end")
            case .tokenBucket:
                // The instant decided is the bucket's timestamp less the reset; the row is kept whole milliseconds.
                let now = stamp - reset
                #expect(expiry == now + (reset + 999) / 1000 * 1000, "\(state) decided at \(now) expires at \(expiry)")
                #expect(expiry >= stamp && expiry < stamp + 1000)
            }
            guard case .expiresIn(let left) = try await store.expiry(of: "client") else {
                Issue.record("the state has an expiry")
                return
            }
            #expect(left > .zero && left <= rule.window * 2)
        }
    }

    /// A row whose `expires_at` is not after the server's clock is no state, whatever it holds; a live one is.
    @Test(arguments: Self.algorithms)
    func anExpiredRowCountsAsNoState(_ algorithm: RateLimitRule.Algorithm) async throws {
        try await withPostgresStore { root in
            let store = try root.withNamespace(PostgresTestServer.uniqueName("expired"))
            let rule = try RateLimitRule(limit: 2, per: .seconds(86_400), algorithm: algorithm)
            var decisions: [RateLimitDecision] = []
            for _ in 0..<3 {
                decisions.append(try await store.checkedRateLimit("client", rule: rule))
            }
            #expect(decisions.map(\.isAllowed) == [true, true, false])

            // Live an hour longer, the full state still refuses.
            try await store.moveRowExpiry("client", milliseconds: 3_600_000)
            #expect(try await store.checkedRateLimit("client", rule: rule).isAllowed == false)

            // Expired on the server's clock, the row is skipped by get, and the limit starts afresh.
            try await store.moveRowExpiry("client", milliseconds: 0)
            #expect(try await store.get("client") == nil)
            let fresh = try await store.checkedRateLimit("client", rule: rule)
            #expect(fresh.isAllowed && fresh.remaining == 1, "an expired row's state is forgotten: \(fresh)")
            #expect(try await store.rowExpiry("client") ?? 0 > store.serverMicroseconds(), "the row was given a new expiry")
        }
    }

    /// A value that is not this algorithm's state (a plain value, another algorithm's, bytes that are not text, a
    /// state longer than 64 bytes, fields split by anything but one space) is no state: the limit starts afresh and
    /// the value is replaced, as `RateLimitRule.decide` has it.
    @Test func aValueThatIsNotThisLimitsStateCountsAsNoState() async throws {
        try await withPostgresStore { root in
            let store = try root.withNamespace(PostgresTestServer.uniqueName("foreign"))
            let rule = try RateLimitRule(limit: 3, per: .seconds(86_400), algorithm: .fixedWindow)
            let now = try await store.serverMicroseconds() / 1000
            let start = now - now % rule.windowMilliseconds
            let longCount = String(repeating: "0", count: 64) + "2"
            var foreign: [String: ByteBuffer] = [
                "plain": ByteBuffer(string: "not a limit"),
                "bucket": ByteBuffer(string: "G \(now * 1000 + 60_000_000)"),
                "sliding": ByteBuffer(string: "S \(start) 0 2"),
                "long": ByteBuffer(string: "F \(start) \(longCount)"),
                "spaces": ByteBuffer(string: "F  \(start) 2"),
                "tab": ByteBuffer(string: "F\t\(start)\t2"),
                "newline": ByteBuffer(string: "F \(start) 2\n"),
                "hex": ByteBuffer(string: "F \(start) 0x2"),
            ]
            var binary = ByteBuffer(string: "F \(start) 2")
            binary.writeBytes([0xFF, 0x00])
            foreign["binary"] = binary
            for (key, value) in foreign {
                try await store.set(key, value: value)
                let decision = try await store.checkedRateLimit(key, rule: rule)
                #expect(decision.isAllowed && decision.remaining == 2, "\(key): \(String(buffer: value).debugDescription) is no state")
                #expect(try await store.get(key) == ByteBuffer(string: "F \(start) 1"), "\(key): replaced by the limit's state")
                #expect(try await store.expiry(of: key) != .never, "\(key): the state expires, where the value did not")
            }

            // The same counts, as this algorithm's state, do count; leading zeros and a sign are integers as in Swift.
            for (key, count) in ["state": "2", "zeros": "0002", "signed": "+2"] {
                try await store.set(key, value: ByteBuffer(string: "F \(start) \(count)"))
                let decision = try await store.checkedRateLimit(key, rule: rule)
                #expect(decision.isAllowed && decision.remaining == 0, "\(key): F \(start) \(count) is two requests")
            }
        }
    }

    /// Two instances on one table admit exactly the limit between them, each algorithm on a key without a row yet.
    @Test(arguments: [RateLimitRule.Algorithm.fixedWindow, .slidingWindow, .tokenBucket(burst: 10)])
    func twoInstancesShareOneLimit(_ algorithm: RateLimitRule.Algorithm) async throws {
        let table = PostgresTestServer.uniqueName("shared")
        let rule = try RateLimitRule(limit: 10, per: .seconds(86_400), algorithm: algorithm)
        try await withPostgresStore(.testing(table: table)) { first in
            try await withPostgresStore(.testing(table: table)) { second in
                let decisions = try await withThrowingTaskGroup(of: RateLimitDecision.self) { group in
                    for index in 0..<200 {
                        let store = index.isMultiple(of: 2) ? first : second
                        group.addTask { try await store.rateLimit("client", rule: rule) }
                    }
                    var decisions: [RateLimitDecision] = []
                    for try await decision in group { decisions.append(decision) }
                    return decisions
                }
                let admitted = decisions.filter(\.isAllowed)
                #expect(admitted.count == 10, "\(algorithm): 200 requests through two instances against a limit of 10 admit 10")
                #expect(admitted.map(\.remaining).sorted() == Array(0..<10), "each admitted request saw its own count")
                #expect(try await first.rateLimit("client", rule: rule).isAllowed == false)
                #expect(try await second.rateLimit("client", rule: rule).isAllowed == false)
            }
        }
    }

    /// Two instances on one table share weighted limits, penalties and blocks.
    @Test(arguments: [RateLimitRule.Algorithm.fixedWindow, .slidingWindow, .tokenBucket(burst: 30)])
    func twoInstancesShareWeightedLimitsPenaltiesAndBlocks(_ algorithm: RateLimitRule.Algorithm) async throws {
        let table = PostgresTestServer.uniqueName("shared")
        try await withPostgresStore(.testing(table: table)) { first in
            try await withPostgresStore(.testing(table: table)) { second in
                try await RateLimitSharing(first, second).run(algorithm)
            }
        }
    }
}
