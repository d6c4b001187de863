import NIOCore
import Stash
import Testing

extension StoreConformance {
    /// The three algorithms of the rate-limit step, each with a limit of 10 a day (so no window ends during the
    /// check) and a bucket of 10.
    static var dailyRules: [RateLimitRule] {
        get throws {
            [
                try RateLimitRule(limit: 10, per: .seconds(86_400), algorithm: .fixedWindow),
                try RateLimitRule(limit: 10, per: .seconds(86_400), algorithm: .slidingWindow),
                try RateLimitRule(limit: 10, per: .seconds(86_400), algorithm: .tokenBucket(burst: 10)),
            ]
        }
    }

    func checkConcurrentRateLimits(_ store: S) async throws {
        for rule in try Self.dailyRules {
            let key = "limit \(rule.algorithm)"
            let decisions = try await withThrowingTaskGroup(of: RateLimitDecision.self) { group in
                for _ in 0..<200 {
                    group.addTask { try await store.rateLimit(key, rule: rule) }
                }
                var decisions: [RateLimitDecision] = []
                for try await decision in group { decisions.append(decision) }
                return decisions
            }
            let admitted = decisions.filter(\.isAllowed)
            #expect(admitted.count == 10, "\(rule.algorithm): 200 concurrent requests against a limit of 10 admit exactly 10")
            #expect(
                admitted.map(\.remaining).sorted() == Array(0..<10),
                "\(rule.algorithm): each admitted request sees its own remaining count, got \(admitted.map(\.remaining).sorted())"
            )
            for refused in decisions where !refused.isAllowed {
                #expect(refused.remaining == 0 && refused.limit == 10)
                let retryAfter = try #require(refused.retryAfter, "a refused request says when to retry")
                // A sliding window may have to wait into the next window, until this one weighs one request less.
                #expect(retryAfter > .zero && retryAfter <= rule.window + rule.window / 10, "\(rule.algorithm): retry after \(retryAfter)")
            }
            for decision in decisions {
                #expect(decision.resetIn > .zero && decision.resetIn <= rule.window, "\(rule.algorithm): reset in \(decision.resetIn)")
            }
            let state = try await store.get(key)
            #expect(state != nil, "the limit's state is stored under its key")
            _ = try await store.rateLimit(key, rule: rule)
            #expect(try await store.get(key) == state, "a refused request changes nothing")
            #expect(try await store.expiry(of: key) != .never, "the limit's state expires")
        }
    }

    func checkRateLimit(_ store: S) async throws {
        // In real time, a window long enough that a busy machine still sends two requests inside it.
        let window: Duration = self.clock == nil ? .seconds(2) : .seconds(10)
        // Redis and PostgreSQL time it by the server's clock, which may tick a little apart from ours.
        let margin: Duration = self.clock == nil ? .milliseconds(20) : .zero
        for algorithm in [RateLimitRule.Algorithm.fixedWindow, .slidingWindow, .tokenBucket(burst: 2)] {
            let rule = try RateLimitRule(limit: 2, per: window, algorithm: algorithm)
            let key = "window \(algorithm)"
            // The first request may be anywhere in a window: at least one more is admitted after it, or the
            // first's window ends and the count starts again; either way, after a refusal, waiting as long as it
            // says admits the next one.
            var refusal: RateLimitDecision?
            // Up to 100: in real time a slow machine may let a window end, or the bucket refill, between two requests.
            for _ in 0..<100 {
                let decision = try await store.rateLimit(key, rule: rule)
                #expect(decision.limit == 2)
                if !decision.isAllowed {
                    refusal = decision
                    break
                }
            }
            let refused = try #require(refusal, "\(algorithm): requests in a row against a limit of 2 meet a refusal")
            let retryAfter = try #require(refused.retryAfter)
            #expect(retryAfter <= window + window / 2, "\(algorithm): retry after \(retryAfter)")
            try await self.pass(retryAfter + margin)
            let retried = try await store.rateLimit(key, rule: rule)
            #expect(retried.isAllowed, "\(algorithm): a request is admitted once the refusal's retry-after has passed")

            // A fresh key admits the limit at once (the token bucket, its burst).
            let fresh = "fresh \(algorithm)"
            var admitted = 0
            for _ in 0..<2 where try await store.rateLimit(fresh, rule: rule).isAllowed { admitted += 1 }
            // Even when a window ends between the two, the second is the first of its window (or weighs one at most).
            #expect(admitted == 2, "\(algorithm): a fresh key admits the limit")
        }

        await self.expectError(.invalidKey, "a rate limit on an empty key") {
            try await store.rateLimit("", rule: RateLimitRule(limit: 1, per: .seconds(1)))
        }
        // State of another kind (a rule that changed, or a plain value) counts as none.
        try await store.set("plain", value: .init(string: "not a limit"))
        #expect(try await store.rateLimit("plain", rule: RateLimitRule(limit: 1, per: .seconds(60))).isAllowed)
    }
}

extension StoreConformance {
    func checkRateLimitOperations(_ store: S) async throws {
        for rule in try Self.dailyRules {
            let key = "operations \(rule.algorithm)"
            let heavy = try await store.rateLimit(key, rule: rule, .consume(7))
            #expect(heavy.isAllowed && heavy.remaining == 3, "\(rule.algorithm): a request of 7 against 10")
            let charge = try #require(heavy.charge, "an admitted request carries what it counted")
            #expect(charge.cost == 7)
            let tooHeavy = try await store.rateLimit(key, rule: rule, .consume(4))
            #expect(!tooHeavy.isAllowed && tooHeavy.charge == nil, "\(rule.algorithm): 4 more do not fit in 3")
            let refunded = try await store.rateLimit(key, rule: rule, .refund(charge))
            #expect(refunded.isAllowed && refunded.remaining == 10, "\(rule.algorithm): a refund gives the 7 back")
            let penalized = try await store.rateLimit(key, rule: rule, .adjust(by: 10))
            #expect(!penalized.isAllowed && penalized.remaining == 0 && penalized.retryAfter != nil, "\(rule.algorithm): a penalty of 10")
            #expect(!(try await store.rateLimit(key, rule: rule).isAllowed))
            let rewarded = try await store.rateLimit(key, rule: rule, .adjust(by: -5))
            #expect(rewarded.isAllowed && rewarded.remaining == 5, "\(rule.algorithm): a reward of 5")
            #expect(try await store.rateLimit(key, rule: rule, .consume(5)).isAllowed)

            let blocked = try await store.rateLimit(key, rule: rule, .block(for: .seconds(7200)))
            #expect(!blocked.isAllowed && blocked.retryAfter == .seconds(7200))
            try await self.pass(.seconds(1))
            #expect(try await store.rateLimit(key, rule: rule, .adjust(by: -10)).isAllowed == false, "a reward does not lift a block")
            let still = try await store.rateLimit(key, rule: rule)
            let left = try #require(still.retryAfter)
            #expect(!still.isAllowed && left <= .seconds(7199) && left > .seconds(7000), "\(rule.algorithm): blocked for \(left) more")
            #expect(try await store.expiry(of: key) != .never)

            for operation in [RateLimitOperation.consume(11), .consume(0), .adjust(by: 0), .adjust(by: -11), .block(for: .zero)] {
                await self.expectError(.invalidConfiguration, "\(operation) on \(rule.algorithm)") {
                    try await store.rateLimit("invalid", rule: rule, operation)
                }
            }
        }
        #expect(try await store.get("invalid") == nil, "an invalid operation writes nothing")

        // A rule that blocks: the refusal blocks the key past its window; the block ends and the key starts afresh.
        let window: Duration = self.clock == nil ? .seconds(1) : .seconds(10)
        let blocking = try RateLimitRule(limit: 1, per: .seconds(86_400), blockingFor: window)
        #expect(try await store.rateLimit("blocking", rule: blocking).isAllowed)
        let refusal = try await store.rateLimit("blocking", rule: blocking)
        #expect(!refusal.isAllowed && refusal.retryAfter == window)
        #expect(try await store.get("blocking").map { String(buffer: $0).hasPrefix("B ") } == true, "the block is stored")
        try await self.pass(window + (self.clock == nil ? .milliseconds(50) : .zero))
        #expect(try await store.rateLimit("blocking", rule: blocking).isAllowed, "the key starts afresh once the block ends")
    }

    func checkConcurrentWeightedRateLimits(_ store: S) async throws {
        let rules = [
            try RateLimitRule(limit: 30, per: .seconds(86_400), algorithm: .fixedWindow),
            try RateLimitRule(limit: 30, per: .seconds(86_400), algorithm: .slidingWindow),
            try RateLimitRule(limit: 30, per: .seconds(86_400), algorithm: .tokenBucket(burst: 30)),
        ]
        for rule in rules {
            let key = "exact \(rule.algorithm)"
            let admitted = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<100 {
                    group.addTask { try await store.rateLimit(key, rule: rule, .consume(3)).isAllowed }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(admitted == 10, "\(rule.algorithm): 100 requests of 3 against 30 admit exactly 10")
        }
    }
}
