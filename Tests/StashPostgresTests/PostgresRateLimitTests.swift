import NIOCore
import Stash
import StashPostgres
import Testing

/// The rate limit's one statement on the server: every decision is checked against `RateLimitRule.decide` at the
/// instant of the server's clock the function read, and against what each algorithm documents.
@Suite struct PostgresRateLimitTests {
    /// A day-long window: no window ends while a test runs (the conformance suite's daily rules do the same).
    static let day: Duration = .seconds(86_400)

    @Test func aFixedWindowAdmitsTheLimitThenRefusesUntilTheWindowEnds() async throws {
        try await withPostgresStore { root in
            let store = try root.withNamespace(PostgresTestServer.uniqueName("fixed"))
            let rule = try RateLimitRule(limit: 5, per: Self.day, algorithm: .fixedWindow)
            var decisions: [RateLimitDecision] = []
            for _ in 0..<7 {
                decisions.append(try await store.checkedRateLimit("client", rule: rule))
            }
            #expect(decisions.map(\.isAllowed) == [true, true, true, true, true, false, false])
            #expect(decisions.map(\.remaining) == [4, 3, 2, 1, 0, 0, 0], "the remaining count counts down, then stays at 0")
            #expect(decisions.allSatisfy { $0.limit == 5 })
            #expect(decisions.prefix(5).allSatisfy { $0.retryAfter == nil })
            for refused in decisions.suffix(2) {
                #expect(refused.retryAfter == refused.resetIn, "a refused request may retry when the window ends")
                #expect(refused.resetIn > .zero && refused.resetIn <= Self.day)
            }
            let state = try #require(try await store.get("client").map { String(buffer: $0) })
            let fields = state.split(separator: " ")
            #expect(fields.count == 3 && fields[0] == "F" && fields[2] == "5", "the refusals left the count at 5: \(state)")
            let start = try #require(Int64(fields[1]))
            #expect(start % rule.windowMilliseconds == 0, "windows start at multiples of the window since the epoch")
        }
    }

    @Test func aTokenBucketAdmitsItsBurstThenOneRequestPerInterval() async throws {
        try await withPostgresStore { root in
            let store = try root.withNamespace(PostgresTestServer.uniqueName("bucket"))
            // 10 a day: one request every 8640 s, and a bucket of 3.
            let rule = try RateLimitRule(limit: 10, per: Self.day, algorithm: .tokenBucket(burst: 3))
            let interval = Self.day / 10
            let first = ContinuousClock.now
            var decisions: [RateLimitDecision] = []
            for _ in 0..<5 {
                decisions.append(try await store.checkedRateLimit("client", rule: rule))
            }
            let elapsed = ContinuousClock.now - first
            #expect(decisions.map(\.isAllowed) == [true, true, true, false, false])
            #expect(decisions.map(\.remaining) == [2, 1, 0, 0, 0])
            #expect(decisions.allSatisfy { $0.limit == 3 }, "a token bucket reports its burst as the limit")
            for refused in decisions.suffix(2) {
                let retryAfter = try #require(refused.retryAfter)
                // The bucket refills one request per interval since the first request drew on it.
                #expect(retryAfter <= interval && retryAfter >= interval - elapsed - .seconds(1), "retry after \(retryAfter)")
                #expect(refused.resetIn <= interval * 3 && refused.resetIn >= interval * 3 - elapsed - .seconds(1))
            }
        }
    }

    @Test func aSlidingWindowWeighsThePreviousWindowByItsOverlap() async throws {
        try await withPostgresStore { root in
            let store = try root.withNamespace(PostgresTestServer.uniqueName("sliding"))
            let rule = try RateLimitRule(limit: 10, per: Self.day, algorithm: .slidingWindow)
            let window = rule.windowMilliseconds
            let now = try await store.serverMicroseconds() / 1000
            let start = now - now % window
            // The previous window admitted 4; the one before it, 4 too, but it no longer overlaps the last day.
            try await store.set("recent", value: ByteBuffer(string: "S \(start - window) 0 4"), expiresIn: .seconds(3600))
            try await store.set("old", value: ByteBuffer(string: "S \(start - 2 * window) 0 4"), expiresIn: .seconds(3600))

            var recent: [RateLimitDecision] = []
            while recent.count < 12, recent.last?.isAllowed != false {
                recent.append(try await store.checkedRateLimit("recent", rule: rule))
            }
            let refusal = try #require(recent.last)
            #expect(!refusal.isAllowed, "a sliding window refuses within 11 requests against a limit of 10")
            let admitted = recent.count - 1
            // 4 × overlap / window of the previous window's requests still count, rounded so that no more than the
            // limit is ever admitted over the last day.
            let overlap = Int64(refusal.resetIn / .milliseconds(1))
            #expect(admitted == Int((10 * window - 4 * overlap) / window), "admitted \(admitted) with an overlap of \(overlap) ms")
            #expect(admitted >= 6 && admitted <= 10)
            #expect(try await store.get("recent") == ByteBuffer(string: "S \(start) 4 \(admitted)"))
            let retryAfter = try #require(refusal.retryAfter)
            #expect(retryAfter > .zero && retryAfter <= refusal.resetIn, "the previous window's weight falls before this one ends")

            var old: [RateLimitDecision] = []
            for _ in 0..<11 {
                old.append(try await store.checkedRateLimit("old", rule: rule))
            }
            #expect(old.map(\.isAllowed) == Array(repeating: true, count: 10) + [false], "a window two back weighs nothing")
            #expect(old.prefix(10).map(\.remaining) == Array((0..<10).reversed()))
        }
    }
}
