import NIOCore
import Stash
import Testing

/// The reference algorithm (``RateLimitRule/decide(state:now:)``) that the memory and file stores run, step by step
/// on a timeline the test sets.
@Suite struct RateLimitRuleTests {
    /// Runs requests at the given times (milliseconds) and returns which were admitted.
    private func admitted(_ rule: RateLimitRule, at times: [Int64]) -> [Bool] {
        var state: ByteBuffer?
        var stateExpiresAt: Int64 = .max
        return times.map { time in
            if time >= stateExpiresAt { state = nil }
            let step = rule.decide(state: state, now: .milliseconds(time))
            if let newState = step.newState {
                state = newState
                stateExpiresAt = time + step.expiresIn.roundedUpToMilliseconds
            }
            return step.decision.isAllowed
        }
    }

    @Test func fixedWindowsAreAlignedToTheTimeline() throws {
        let rule = try RateLimitRule(limit: 2, per: .seconds(1))
        // The window [1000, 2000) admits two; 2000 starts the next.
        #expect(self.admitted(rule, at: [1000, 1500, 1999, 2000, 2001, 2002]) == [true, true, false, true, true, false])
    }

    @Test func slidingWindowWeighsThePreviousWindowByItsOverlap() throws {
        let rule = try RateLimitRule(limit: 10, per: .seconds(1), algorithm: .slidingWindow)
        // 10 in [0, 1000); at 1500 the previous window still weighs 10 × 0.5 = 5, so 5 more fit, not 10.
        let times = Array(repeating: Int64(0), count: 10) + Array(repeating: 1500, count: 10)
        let decisions = self.admitted(rule, at: times)
        #expect(decisions.prefix(10).allSatisfy { $0 })
        #expect(decisions.suffix(10).filter { $0 }.count == 5)
    }

    @Test func slidingWindowRetryAfterAdmitsTheNextRequest() throws {
        let rule = try RateLimitRule(limit: 4, per: .seconds(1), algorithm: .slidingWindow)
        var state: ByteBuffer?
        for _ in 0..<4 {
            state = rule.decide(state: state, now: .milliseconds(100)).newState
            #expect(state != nil)
        }
        let refused = rule.decide(state: state, now: .milliseconds(100)).decision
        #expect(!refused.isAllowed)
        // Into the next window until the full one weighs 3: 900 ms to its end, then 250 ms.
        #expect(refused.retryAfter == .milliseconds(1150))
        #expect(!rule.decide(state: state, now: .milliseconds(1249)).decision.isAllowed)
        #expect(rule.decide(state: state, now: .milliseconds(1250)).decision.isAllowed)
    }

    @Test func tokenBucketSpacesRequestsAfterTheBurst() throws {
        let rule = try RateLimitRule(limit: 10, per: .seconds(1), algorithm: .tokenBucket(burst: 3))
        // A burst of 3, then one every 100 ms.
        #expect(self.admitted(rule, at: [0, 0, 0, 0, 99, 100, 150, 200]) == [true, true, true, false, false, true, false, true])
        let full = rule.decide(state: nil, now: .zero).decision
        #expect(full.limit == 3 && full.remaining == 2 && full.resetIn == .milliseconds(100))
    }

    @Test func unreadableOrForeignStateCountsAsNone() throws {
        let rule = try RateLimitRule(limit: 1, per: .seconds(60))
        for state in ["", "F", "F x y", "S 0 1 2", "G 99999999999999", String(repeating: "F ", count: 100)] {
            #expect(rule.decide(state: ByteBuffer(string: state), now: .seconds(120)).decision.isAllowed, "\(state.debugDescription)")
        }
    }

    @Test func rulesOutOfRangeAreTypedErrors() {
        let year = Duration.seconds(86_400 * 365)
        let invalid: [(Int, Duration, RateLimitRule.Algorithm)] = [
            (0, .seconds(1), .fixedWindow),
            (-1, .seconds(1), .fixedWindow),
            (1, .zero, .slidingWindow),
            (1, .microseconds(1500), .fixedWindow),
            (1, .seconds(-1), .fixedWindow),
            (1, StoreLimits.maximumExpiry, .fixedWindow),
            (1_000_000_000, year, .fixedWindow),
            (1, .seconds(1), .tokenBucket(burst: 0)),
            (1, year, .tokenBucket(burst: 1_000_000_000)),
        ]
        for (limit, window, algorithm) in invalid {
            do {
                _ = try RateLimitRule(limit: limit, per: window, algorithm: algorithm)
                Issue.record("\(limit) per \(window), \(algorithm) must be refused")
            } catch {
                #expect(error.code == .invalidConfiguration)
            }
        }
        #expect(throws: Never.self) { try RateLimitRule(limit: 1_000_000, per: .seconds(86_400), algorithm: .tokenBucket(burst: 1000)) }
    }
}
