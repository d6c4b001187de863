import NIOCore
import Stash
import Testing

/// Weighted requests, penalties and rewards, refunds and blocks in the reference algorithm
/// (``RateLimitRule/decide(state:now:operation:)``), on a timeline the test sets.
@Suite struct RateLimitOperationTests {
    /// A key's state on a timeline: each operation at a time in milliseconds, the state expiring as the step says.
    private struct Timeline {
        let rule: RateLimitRule
        var state: ByteBuffer?
        var expiresAt: Int64 = .max

        init(_ rule: RateLimitRule) { self.rule = rule }

        mutating func run(_ operation: RateLimitOperation = .consume, at time: Int64) throws -> RateLimitDecision {
            try self.rule.validate(operation)
            if time >= self.expiresAt { self.state = nil }
            let step = self.rule.decide(state: self.state, now: .milliseconds(time), operation: operation)
            if let newState = step.newState {
                self.state = newState
                self.expiresAt = time + Int64(step.expiresIn / .milliseconds(1))
            }
            return step.decision
        }

        var stateText: String? { self.state.map { String(buffer: $0) } }
    }

    @Test func aWeightedRequestIsAdmittedOnlyWhenTheLimitHasRoomForAllOfIt() throws {
        var fixed = Timeline(try RateLimitRule(limit: 10, per: .seconds(1)))
        #expect(try fixed.run(.consume(4), at: 1000).remaining == 6)
        #expect(try fixed.run(.consume(4), at: 1100).remaining == 2)
        let refused = try fixed.run(.consume(4), at: 1200)
        #expect(!refused.isAllowed && refused.retryAfter == .milliseconds(800) && refused.charge == nil)
        #expect(fixed.stateText == "F 1000 8", "a refused request counts nothing")
        let fits = try fixed.run(.consume(2), at: 1300)
        #expect(fits.isAllowed && fits.remaining == 0)
        #expect(fits.charge == RateLimitCharge(cost: 2, windowStart: 1000))

        var sliding = Timeline(try RateLimitRule(limit: 10, per: .seconds(1), algorithm: .slidingWindow))
        for _ in 0..<10 { _ = try sliding.run(at: 0) }
        // At 1000 the previous window weighs all 10; a request of 4 fits once it weighs 6, at 1400.
        let heavy = try sliding.run(.consume(4), at: 1000)
        #expect(!heavy.isAllowed && heavy.retryAfter == .milliseconds(400))
        #expect(!(try sliding.run(.consume(4), at: 1399).isAllowed))
        #expect(try sliding.run(.consume(4), at: 1400).isAllowed)
        // Past the limit with this window's 4 alone: into the next, until they weigh 3 (4 × 750 / 1000).
        #expect(try sliding.run(.consume(7), at: 1999).retryAfter == .milliseconds(1 + 250))
        #expect(!(try sliding.run(.consume(7), at: 2249).isAllowed))
        #expect(try sliding.run(.consume(7), at: 2250).isAllowed)

        var bucket = Timeline(try RateLimitRule(limit: 10, per: .seconds(1), algorithm: .tokenBucket(burst: 5)))
        let all = try bucket.run(.consume(5), at: 0)
        #expect(all.isAllowed && all.remaining == 0 && all.resetIn == .milliseconds(500))
        #expect(all.charge == RateLimitCharge(cost: 5, windowStart: nil))
        #expect(try bucket.run(.consume(3), at: 0).retryAfter == .milliseconds(300), "three tokens refill in 300 ms")
        #expect(!(try bucket.run(.consume(3), at: 299).isAllowed))
        #expect(try bucket.run(.consume(3), at: 300).isAllowed)
    }

    @Test func anOperationTheRuleCannotTakeIsATypedError() throws {
        let fixed = try RateLimitRule(limit: 10, per: .seconds(1))
        let bucket = try RateLimitRule(limit: 100, per: .seconds(1), algorithm: .tokenBucket(burst: 5))
        for (rule, operation) in [
            (fixed, RateLimitOperation.consume(0)), (fixed, .consume(11)), (fixed, .consume(-1)), (bucket, .consume(6)),
            (fixed, .adjust(by: 0)), (fixed, .adjust(by: 11)), (fixed, .adjust(by: -11)), (bucket, .adjust(by: 6)),
            (fixed, .refund(RateLimitCharge(cost: 0, windowStart: nil))), (fixed, .block(for: .zero)),
            (fixed, .block(for: .seconds(-1))), (fixed, .block(for: StoreLimits.maximumExpiry * 2)),
        ] {
            #expect(throws: StoreError.self, "\(operation) on \(rule.algorithm)") { try rule.validate(operation) }
            do {
                try rule.validate(operation)
            } catch {
                #expect(error.code == .invalidConfiguration)
            }
        }
        try fixed.validate(.consume(10))
        try bucket.validate(.adjust(by: -5))
        #expect(fixed.maximumCost == 10 && bucket.maximumCost == 5)
        #expect(throws: StoreError.self) { try RateLimitRule(limit: 1, per: .seconds(1), blockingFor: .zero) }
    }

    @Test func penaltiesAndRewardsMoveTheCountWhateverTheLimitSays() throws {
        var fixed = Timeline(try RateLimitRule(limit: 5, per: .seconds(10)))
        _ = try fixed.run(at: 0)
        _ = try fixed.run(at: 0)
        let penalized = try fixed.run(.adjust(by: 2), at: 100)
        #expect(penalized.isAllowed && penalized.remaining == 1 && penalized.charge == nil)
        let spent = try fixed.run(.adjust(by: 5), at: 200)
        #expect(!spent.isAllowed && spent.remaining == 0 && spent.retryAfter == .milliseconds(9800))
        #expect(fixed.stateText == "F 0 5", "a penalty fills the window at most")
        #expect(!(try fixed.run(at: 300).isAllowed))
        let rewarded = try fixed.run(.adjust(by: -3), at: 400)
        #expect(rewarded.isAllowed && rewarded.remaining == 3)
        #expect(try (0..<4).map { _ in try fixed.run(at: 500).isAllowed } == [true, true, true, false])
        _ = try fixed.run(.adjust(by: -5), at: 600)
        #expect(fixed.stateText == "F 0 0", "a reward empties the window at most")

        var sliding = Timeline(try RateLimitRule(limit: 4, per: .seconds(1), algorithm: .slidingWindow))
        let slid = try sliding.run(.adjust(by: 4), at: 0)
        #expect(!slid.isAllowed && slid.retryAfter == .milliseconds(1250), "like four requests: into the next window until they weigh 3")
        #expect(sliding.stateText == "S 0 0 4")

        var bucket = Timeline(try RateLimitRule(limit: 10, per: .seconds(1), algorithm: .tokenBucket(burst: 3)))
        let emptied = try bucket.run(.adjust(by: 3), at: 0)
        #expect(!emptied.isAllowed && emptied.remaining == 0 && emptied.retryAfter == .milliseconds(100))
        _ = try bucket.run(.adjust(by: 3), at: 0)
        #expect(bucket.stateText == "G 300000", "a penalty empties the bucket at most")
        let refilled = try bucket.run(.adjust(by: -2), at: 0)
        #expect(refilled.isAllowed && refilled.remaining == 2)
    }

    @Test func aRefundTakesBackWhatTheRequestCountedInItsOwnWindow() throws {
        var fixed = Timeline(try RateLimitRule(limit: 3, per: .seconds(1)))
        let first = try fixed.run(.consume(2), at: 100)
        let charge = try #require(first.charge)
        let refunded = try fixed.run(.refund(charge), at: 200)
        #expect(refunded.isAllowed && refunded.remaining == 3 && fixed.stateText == "F 0 0")
        // A charge of the last window corrects nothing in this one.
        let old = try #require(try fixed.run(at: 900).charge)
        _ = try fixed.run(.consume(3), at: 1000)
        #expect(!(try fixed.run(.refund(old), at: 1100).isAllowed))
        #expect(fixed.stateText == "F 1000 3")

        // A sliding window's previous count still weighs: a refund of it lightens it.
        var sliding = Timeline(try RateLimitRule(limit: 4, per: .seconds(1), algorithm: .slidingWindow))
        var charges: [RateLimitCharge] = []
        for _ in 0..<4 { charges.append(try #require(try sliding.run(at: 900).charge)) }
        #expect(!(try sliding.run(at: 1000).isAllowed))
        let lighter = try sliding.run(.refund(charges[0]), at: 1000)
        #expect(lighter.isAllowed && lighter.remaining == 1 && sliding.stateText == "S 1000 3 0")
        #expect(try sliding.run(at: 1000).isAllowed)

        var bucket = Timeline(try RateLimitRule(limit: 10, per: .seconds(1), algorithm: .tokenBucket(burst: 2)))
        let taken = try #require(try bucket.run(.consume(2), at: 0).charge)
        let back = try bucket.run(.refund(taken), at: 50)
        #expect(back.isAllowed && back.remaining == 2)
        #expect(bucket.stateText == "G 50000", "a refund never puts the bucket's time before now")
        var empty = Timeline(bucket.rule)
        _ = try empty.run(.refund(taken), at: 0)
        #expect(empty.state == nil, "a refund on a key with no count writes nothing")
    }

    @Test func aBlockingRuleRefusesEveryRequestUntilTheBlockEnds() throws {
        var timeline = Timeline(try RateLimitRule(limit: 2, per: .seconds(1), blockingFor: .seconds(10)))
        #expect(try timeline.run(at: 0).isAllowed)
        #expect(try timeline.run(at: 0).isAllowed)
        let blocked = try timeline.run(at: 100)
        #expect(!blocked.isAllowed && blocked.retryAfter == .seconds(10) && blocked.resetIn == .seconds(10))
        #expect(timeline.stateText == "B 10100")
        // A new window does not end the block; nothing but time does.
        let later = try timeline.run(at: 5100)
        #expect(!later.isAllowed && later.retryAfter == .seconds(5))
        #expect(!(try timeline.run(.adjust(by: -2), at: 5200).isAllowed))
        #expect(timeline.stateText == "B 10100")
        let after = try timeline.run(at: 10_100)
        #expect(after.isAllowed && after.remaining == 1, "the key starts afresh once the block ends")
    }

    @Test func anApplicationBlocksAKeyForAsLongAsItSays() throws {
        var timeline = Timeline(try RateLimitRule(limit: 100, per: .seconds(1), algorithm: .tokenBucket(burst: 10)))
        let blocked = try timeline.run(.block(for: .seconds(3)), at: 1000)
        #expect(!blocked.isAllowed && blocked.retryAfter == .seconds(3) && blocked.limit == 10)
        #expect(!(try timeline.run(at: 3999).isAllowed))
        _ = try timeline.run(.block(for: .seconds(1)), at: 2000)
        #expect(timeline.stateText == "B 4000", "a shorter block leaves the longer one")
        _ = try timeline.run(.block(for: .seconds(5)), at: 2000)
        #expect(timeline.stateText == "B 7000", "a longer one extends it")
        #expect(try timeline.run(at: 7000).isAllowed)
    }
}

/// Stored states no rule of Stash's writes — found by fuzzing (`rate-limit-state`): a sliding window whose previous
/// count times its overlap overflowed, trapping the process on every request for that key.
@Suite struct RateLimitForeignStateTests {
    @Test func countsBeyondTheLimitWeighAsAFullWindowAndNeverOverflow() throws {
        let sliding = try RateLimitRule(limit: 7, per: .seconds(60), algorithm: .slidingWindow)
        let refused = sliding.decide(state: ByteBuffer(string: "S 0 1111111111111111004 4"), now: .zero)
        #expect(!refused.decision.isAllowed && refused.decision.retryAfter != nil)
        let fixed = try RateLimitRule(limit: 7, per: .seconds(60))
        for operation in [RateLimitOperation.consume(7), .adjust(by: 7), .refund(RateLimitCharge(cost: 7, windowStart: 0))] {
            let step = fixed.decide(state: ByteBuffer(string: "F 0 9223372036854775807"), now: .zero, operation: operation)
            #expect(step.decision.remaining >= 0, "\(operation)")
        }
        #expect(!fixed.decide(state: ByteBuffer(string: "F 0 9223372036854775807"), now: .zero).decision.isAllowed)
        #expect(fixed.decide(state: ByteBuffer(string: "F 0 -9223372036854775808"), now: .zero).decision.remaining == 6)
        let bucket = try RateLimitRule(limit: 10, per: .seconds(1), algorithm: .tokenBucket(burst: 5))
        let empty = bucket.decide(state: ByteBuffer(string: "G 9223372036854775807"), now: .zero, operation: .consume(5))
        #expect(!empty.decision.isAllowed && empty.decision.retryAfter == .milliseconds(500), "a bucket past empty is empty")
    }
}
