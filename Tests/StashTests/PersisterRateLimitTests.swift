import NIOCore
import Stash
import StashTesting
import Testing

/// Rate-limit state kept by a ``Persister``: after a restart it means what it meant before, whatever the uptime of
/// the process that saved it.
@Suite struct PersisterRateLimitTests {
    /// A multiple of 60 s since the Unix epoch, so that windows of a minute start there.
    static let minute = WallClock.Instant(sinceEpoch: .seconds(1_780_000_020))

    struct Case: Sendable, CustomTestStringConvertible {
        var rule: RateLimitRule
        /// How many requests use the limit up.
        var admitted: Int
        /// The refusal's `Retry-After` right after a restart that took no time.
        var retryAfter: Duration

        var testDescription: String { "\(self.rule.algorithm)" }
    }

    static let cases: [Case] = [
        // Used up 2 s before the restart, at 8 s into the window: the window has 50 s left.
        Case(rule: try! RateLimitRule(limit: 3, per: .seconds(60), algorithm: .fixedWindow), admitted: 3, retryAfter: .seconds(50)),
        // The next window admits one more once this one's 3 weigh 2: 20 s into it, 70 s from the restart.
        Case(rule: try! RateLimitRule(limit: 3, per: .seconds(60), algorithm: .slidingWindow), admitted: 3, retryAfter: .seconds(70)),
        // The one token was taken 2 s before the restart and comes back 10 s after it was taken.
        Case(rule: try! RateLimitRule(limit: 1, per: .seconds(10), algorithm: .tokenBucket(burst: 1)), admitted: 1, retryAfter: .seconds(8)),
    ]

    /// Uses a limit up in a store that has run for 10 minutes, saves it, and loads it into a new store after a restart
    /// that took `downtime`: the new store refuses as the old one would have, says when to retry as the old one would
    /// have, and admits again when that time has passed.
    @Test(arguments: cases, [Duration.zero, .seconds(5)])
    func aUsedUpLimitStaysUsedUpAcrossARestart(_ limit: Case, downtime: Duration) async throws {
        try await withFileStoreDirectory { directory in
            let path = directory + "/limits.snapshot"
            // The process starts 600 s before the minute, and uses the limit up at 8 s into it.
            let clock = ManualClock(now: Self.minute.advanced(by: .seconds(-600)))
            let original = try MemoryStore(clock: clock).withNamespace("rate_limit")
            clock.advance(by: .seconds(608))
            for request in 0..<limit.admitted {
                #expect(try await original.rateLimit("client", rule: limit.rule).isAllowed, "request \(request) of the limit")
            }
            clock.advance(by: .seconds(2))
            try await Persister(store: original, path: path).save()

            // A new process, started after the downtime, loads the snapshot.
            clock.advance(by: downtime)
            let restartClock = ManualClock(now: clock.now)
            let restored = try MemoryStore(clock: restartClock).withNamespace("rate_limit")
            try await Persister(store: restored, path: path).load()

            let expected = try await original.rateLimit("client", rule: limit.rule)
            let decision = try await restored.rateLimit("client", rule: limit.rule)
            #expect(!decision.isAllowed, "the limit is still used up after the restart")
            #expect(decision == expected, "the restored store decides as the store that never stopped")
            if downtime == .zero {
                #expect(decision.retryAfter == limit.retryAfter)
            }

            let retryAfter = try #require(decision.retryAfter)
            clock.advance(by: retryAfter)
            restartClock.advance(by: retryAfter)
            #expect(try await restored.rateLimit("client", rule: limit.rule).isAllowed, "admitted once Retry-After has passed")
            #expect(try await original.rateLimit("client", rule: limit.rule).isAllowed)
        }
    }

    /// The default store, on the continuous clock, aligns fixed windows to the wall clock, as every store shared by
    /// processes does: a restart leaves them where they were.
    @Test func theDefaultStoreAlignsWindowsToTheWallClock() async throws {
        let store = MemoryStore()
        let hour: Int64 = 3_600_000
        let rule = try RateLimitRule(limit: 5, per: .milliseconds(hour))
        let before = WallClock().now.millisecondsSinceEpoch
        let decision = try await store.rateLimit("client", rule: rule)
        let after = WallClock().now.millisecondsSinceEpoch
        // The window ends at the next whole hour since the epoch, read before and after the decision.
        let earliestEnd = hour - after % hour
        let latestEnd = hour - before % hour
        let resetIn = decision.resetIn.roundedUpToMilliseconds
        if earliestEnd <= latestEnd {
            #expect(resetIn >= earliestEnd - 1 && resetIn <= latestEnd + 1, "reset in \(resetIn) ms, expected \(earliestEnd)…\(latestEnd)")
        } else {
            // An hour ended between the two readings.
            #expect(resetIn >= earliestEnd - 1 || resetIn <= latestEnd + 1)
        }
    }
}
