import NIOCore
package import Stash
package import Testing

/// Checks a store that decides rate limits on its server (a Lua script on Redis, a PL/pgSQL function on PostgreSQL)
/// against ``/Stash/RateLimitRule/decide(state:now:)``, the one algorithm every store must agree with: each decision
/// of a table of scenarios is compared with what `decide` makes of the state stored before it, at an instant of the
/// server's clock during the call.
package struct RateLimitAgreement: Sendable {
    /// One scenario of the table every server-side store runs.
    package enum Scenario: String, CaseIterable, Sendable, CustomTestStringConvertible {
        /// A fixed window admits its limit, then refuses until the window ends.
        case fixedWindow
        /// A token bucket admits its burst, then one request per interval.
        case tokenBucket
        /// A sliding window weighs the previous window's count by its overlap with the last window of time.
        case slidingWindow
        /// Requests of more than one point, on each algorithm.
        case weighted
        /// Penalties and rewards, on each algorithm.
        case adjustments
        /// Refunds of what admitted requests counted, on each algorithm (a sliding window's previous window too).
        case refunds
        /// A rule that blocks, and blocks an application sets.
        case blocks
        /// States no operation of the rule leaves (another rule's, from before a limit was lowered, or bytes someone
        /// else wrote): counts past the limit or below zero, a bucket emptier than empty, a block longer than any,
        /// and numbers or spacing the state's format does not allow.
        case foreignStates

        package var testDescription: String { self.rawValue }
    }

    /// A day-long window: no window ends while a scenario runs.
    static let day: Duration = .seconds(86_400)

    let store: any Store
    let serverMicroseconds: @Sendable () async throws -> Int64

    /// Creates the check.
    /// - Parameters:
    ///   - store: An empty namespace to run the scenarios in.
    ///   - serverMicroseconds: The server's clock now, in microseconds since the Unix epoch, read as the server's
    ///     decisions read it.
    package init(store: any Store, serverMicroseconds: @escaping @Sendable () async throws -> Int64) {
        self.store = store
        self.serverMicroseconds = serverMicroseconds
    }

    /// Runs one scenario, recording an issue for every decision that differs from `decide`'s and for every documented
    /// property that does not hold.
    package func run(_ scenario: Scenario) async throws {
        switch scenario {
        case .fixedWindow: try await self.fixedWindow()
        case .tokenBucket: try await self.tokenBucket()
        case .slidingWindow: try await self.slidingWindow()
        case .weighted: try await self.weighted()
        case .adjustments: try await self.adjustments()
        case .refunds: try await self.refunds()
        case .blocks: try await self.blocks()
        case .foreignStates: try await self.foreignStates()
        }
    }

    /// The three algorithms with a limit of 10 a day (the bucket's burst 10 too).
    private static var dailyRules: [RateLimitRule] {
        get throws {
            [
                try RateLimitRule(limit: 10, per: Self.day, algorithm: .fixedWindow),
                try RateLimitRule(limit: 10, per: Self.day, algorithm: .slidingWindow),
                try RateLimitRule(limit: 10, per: Self.day, algorithm: .tokenBucket(burst: 10)),
            ]
        }
    }

    private func weighted() async throws {
        for rule in try Self.dailyRules {
            let key = "weighted \(rule.algorithm)"
            var decisions: [RateLimitDecision] = []
            for cost in [4, 4, 4, 2, 1] {
                decisions.append(try await self.checkedRateLimit(key, rule: rule, .consume(cost)))
            }
            #expect(decisions.map(\.isAllowed) == [true, true, false, true, false], "\(rule.algorithm)")
            #expect(decisions.map(\.remaining) == [6, 2, 0, 0, 0], "\(rule.algorithm)")
            #expect(decisions.map { $0.charge?.cost } == [4, 4, nil, 2, nil], "\(rule.algorithm)")
        }
    }

    private func adjustments() async throws {
        for rule in try Self.dailyRules {
            let key = "adjusted \(rule.algorithm)"
            var decisions: [RateLimitDecision] = []
            for operation in [RateLimitOperation.consume, .adjust(by: 3), .adjust(by: 10), .adjust(by: -4), .consume, .adjust(by: -5)] {
                decisions.append(try await self.checkedRateLimit(key, rule: rule, operation))
            }
            #expect(decisions.map(\.isAllowed) == [true, true, false, true, true, true], "\(rule.algorithm)")
            #expect(decisions.map(\.remaining) == [9, 6, 0, 4, 3, 8], "\(rule.algorithm)")
        }
    }

    private func refunds() async throws {
        for rule in try Self.dailyRules {
            let key = "refunded \(rule.algorithm)"
            let first = try await self.checkedRateLimit(key, rule: rule, .consume(3))
            let second = try await self.checkedRateLimit(key, rule: rule, .consume(2))
            let charge = try #require(first.charge)
            #expect(charge.cost == 3 && (charge.windowStart == nil) == (rule.algorithm == .tokenBucket(burst: 10)))
            let refunded = try await self.checkedRateLimit(key, rule: rule, .refund(charge))
            #expect(refunded.isAllowed && refunded.remaining == 8 && refunded.charge == nil, "\(rule.algorithm)")
            #expect(try await self.checkedRateLimit(key, rule: rule, .consume(8)).isAllowed, "\(rule.algorithm)")
            let last = try await self.checkedRateLimit(key, rule: rule, .refund(try #require(second.charge)))
            #expect(last.isAllowed && last.remaining == 2, "\(rule.algorithm)")
        }
        // A sliding window's previous window, and a fixed window's charge of a window that has ended.
        let sliding = try Self.dailyRules[1]
        let window = sliding.windowMilliseconds
        let now = try await self.serverMicroseconds() / 1000
        let start = now - now % window
        try await self.store.set("previous", value: ByteBuffer(string: "S \(start) 5 1"), expiresIn: .seconds(3600))
        _ = try await self.checkedRateLimit("previous", rule: sliding, .refund(RateLimitCharge(cost: 2, windowStart: start - window)))
        #expect(try await self.store.get("previous") == ByteBuffer(string: "S \(start) 3 1"))
        try await self.store.set("ended", value: ByteBuffer(string: "F \(start) 4"), expiresIn: .seconds(3600))
        _ = try await self.checkedRateLimit("ended", rule: try Self.dailyRules[0], .refund(RateLimitCharge(cost: 2, windowStart: start - window)))
        #expect(try await self.store.get("ended") == ByteBuffer(string: "F \(start) 4"), "a charge of another window corrects nothing")
    }

    private func blocks() async throws {
        let rule = try RateLimitRule(limit: 2, per: Self.day, algorithm: .slidingWindow, blockingFor: Self.day * 2)
        var decisions: [RateLimitDecision] = []
        for operation in [RateLimitOperation.consume, .consume, .consume, .consume, .adjust(by: -2)] {
            decisions.append(try await self.checkedRateLimit("blocked", rule: rule, operation))
        }
        #expect(decisions.map(\.isAllowed) == [true, true, false, false, false])
        let block = try #require(decisions[2].retryAfter)
        #expect(block == Self.day * 2, "the refusal blocks for the rule's duration, longer than the window")
        #expect(try await self.store.get("blocked").map { String(buffer: $0).hasPrefix("B ") } == true)
        let expiry = try await self.store.expiry(of: "blocked")
        guard case .expiresIn(let left) = expiry else {
            Issue.record("a block expires: \(expiry)")
            return
        }
        #expect(left > Self.day && left <= Self.day * 2)

        for rule in try Self.dailyRules {
            let key = "set \(rule.algorithm)"
            _ = try await self.checkedRateLimit(key, rule: rule, .consume)
            let set = try await self.checkedRateLimit(key, rule: rule, .block(for: .seconds(3600)))
            #expect(!set.isAllowed && set.retryAfter == .seconds(3600))
            let shorter = try await self.checkedRateLimit(key, rule: rule, .block(for: .seconds(60)))
            #expect(!shorter.isAllowed && shorter.retryAfter! > .seconds(3500), "a shorter block leaves the longer")
            let refused = try await self.checkedRateLimit(key, rule: rule, .consume)
            #expect(!refused.isAllowed && refused.limit == 10)
        }
    }

    private func foreignStates() async throws {
        let (fixed, sliding, bucket) = try { () throws -> (RateLimitRule, RateLimitRule, RateLimitRule) in
            let rules = try Self.dailyRules
            return (rules[0], rules[1], rules[2])
        }()
        let window = fixed.windowMilliseconds
        let nowMicroseconds = try await self.serverMicroseconds()
        let now = nowMicroseconds / 1000
        let start = now - now % window
        func store(_ key: String, _ state: String) async throws {
            try await self.store.set(key, value: ByteBuffer(string: state), expiresIn: .seconds(3600))
        }
        func run(_ key: String, _ rule: RateLimitRule, _ operations: [RateLimitOperation]) async throws -> [RateLimitDecision] {
            var decisions: [RateLimitDecision] = []
            for operation in operations {
                decisions.append(try await self.checkedRateLimit(key, rule: rule, operation))
            }
            return decisions
        }

        // A count of 500 from before the limit was lowered to 10 is a full window: a refund takes one off 10.
        try await store("lowered", "F \(start) 500")
        let lowered = try await run("lowered", fixed, [.consume, .refund(RateLimitCharge(cost: 1, windowStart: start)), .consume, .consume])
        #expect(lowered.map(\.isAllowed) == [false, true, true, false])
        try await store("negative", "F \(start) -5")
        #expect(try await run("negative", fixed, [.consume]).map(\.remaining) == [9], "a negative count is none")
        try await store("largest", "F \(start) 9223372036854775807")
        #expect(try await run("largest", fixed, [.consume, .adjust(by: 1)]).map(\.isAllowed) == [false, false])

        // Both windows counted under a higher limit: full whatever the time of day. The sliding window state fuzzing
        // found (its previous count times the overlap overflowed), and a previous window past the limit, whose
        // decisions depend on the time of day: checked against `decide` only.
        try await store("higher", "S \(start) 500 500")
        #expect(try await run("higher", sliding, [.consume, .adjust(by: 1)]).map(\.isAllowed) == [false, false])
        try await store("fuzzed", "S \(start) 1111111111111111004 4")
        _ = try await run("fuzzed", sliding, [.consume, .adjust(by: -3), .consume])
        try await store("previous", "S \(start - window) 0 500")
        _ = try await run("previous", sliding, [.consume, .refund(RateLimitCharge(cost: 1, windowStart: start - window))])

        // A bucket a thousand times emptier than empty is empty: one interval's wait, and a reward of all but one
        // request nearly fills it (not all: a full bucket's state expires within the millisecond, before the check
        // reads it).
        try await store("bucket", "G \(nowMicroseconds + 1000 * bucket.windowMilliseconds * 1000)")
        let emptied = try await run("bucket", bucket, [.consume, .adjust(by: -9), .consume])
        #expect(emptied.map(\.isAllowed) == [false, true, true])
        #expect(emptied[0].retryAfter == Self.day / 10)

        // A block longer than any operation sets lasts the longest one can; a block of an hour leaves it.
        try await store("blocked", "B 9223372036854775807")
        let blocked = try await run("blocked", fixed, [.consume, .block(for: .seconds(3600))])
        #expect(blocked.map(\.isAllowed) == [false, false])
        #expect(blocked[0].retryAfter == StoreLimits.maximumExpiry)

        // Not the state's format: no state at all, on every store alike.
        for (index, state) in [
            "F  \(start) 3", "F \(start) 3 ", "F \(start) 0x3", "F \(start) 3e0", "F \(start) 99999999999999999999", "F \(start) +3",
            "F \(start) 0003", "FF \(start) 3", "F \(start)\t3", "F \(start) 3 4",
        ].enumerated() {
            try await store("format \(index)", state)
            _ = try await run("format \(index)", fixed, [.consume])
        }
    }

    private func fixedWindow() async throws {
        let rule = try RateLimitRule(limit: 5, per: Self.day, algorithm: .fixedWindow)
        var decisions: [RateLimitDecision] = []
        for _ in 0..<7 {
            decisions.append(try await self.checkedRateLimit("client", rule: rule))
        }
        #expect(decisions.map(\.isAllowed) == [true, true, true, true, true, false, false])
        #expect(decisions.map(\.remaining) == [4, 3, 2, 1, 0, 0, 0], "the remaining count counts down, then stays at 0")
        #expect(decisions.allSatisfy { $0.limit == 5 })
        #expect(decisions.prefix(5).allSatisfy { $0.retryAfter == nil })
        for refused in decisions.suffix(2) {
            #expect(refused.retryAfter == refused.resetIn, "a refused request may retry when the window ends")
            #expect(refused.resetIn > .zero && refused.resetIn <= Self.day)
        }
        let state = try #require(try await self.store.get("client").map { String(buffer: $0) })
        let fields = state.split(separator: " ")
        #expect(fields.count == 3 && fields[0] == "F" && fields[2] == "5", "the refusals left the count at 5: \(state)")
        let start = try #require(Int64(fields[1]))
        #expect(start % rule.windowMilliseconds == 0, "windows start at multiples of the window since the epoch")
    }

    private func tokenBucket() async throws {
        // 10 a day: one request every 8640 s, and a bucket of 3.
        let rule = try RateLimitRule(limit: 10, per: Self.day, algorithm: .tokenBucket(burst: 3))
        let interval = Self.day / 10
        let first = ContinuousClock.now
        var decisions: [RateLimitDecision] = []
        for _ in 0..<5 {
            decisions.append(try await self.checkedRateLimit("client", rule: rule))
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

    private func slidingWindow() async throws {
        let rule = try RateLimitRule(limit: 10, per: Self.day, algorithm: .slidingWindow)
        let window = rule.windowMilliseconds
        let now = try await self.serverMicroseconds() / 1000
        let start = now - now % window
        // The previous window admitted 4; the one before it, 4 too, but it no longer overlaps the last day.
        try await self.store.set("recent", value: ByteBuffer(string: "S \(start - window) 0 4"), expiresIn: .seconds(3600))
        try await self.store.set("old", value: ByteBuffer(string: "S \(start - 2 * window) 0 4"), expiresIn: .seconds(3600))

        var recent: [RateLimitDecision] = []
        while recent.count < 12, recent.last?.isAllowed != false {
            recent.append(try await self.checkedRateLimit("recent", rule: rule))
        }
        let refusal = try #require(recent.last)
        #expect(!refusal.isAllowed, "a sliding window refuses within 11 requests against a limit of 10")
        let admitted = recent.count - 1
        // 4 × overlap / window of the previous window's requests still count, rounded so that no more than the
        // limit is ever admitted over the last day.
        let overlap = Int64(refusal.resetIn / .milliseconds(1))
        #expect(admitted == Int((10 * window - 4 * overlap) / window), "admitted \(admitted) with an overlap of \(overlap) ms")
        #expect(admitted >= 6 && admitted <= 10)
        #expect(try await self.store.get("recent") == ByteBuffer(string: "S \(start) 4 \(admitted)"))
        let retryAfter = try #require(refusal.retryAfter)
        #expect(retryAfter > .zero && retryAfter <= refusal.resetIn, "the previous window's weight falls before this one ends")

        var old: [RateLimitDecision] = []
        for _ in 0..<11 {
            old.append(try await self.checkedRateLimit("old", rule: rule))
        }
        #expect(old.map(\.isAllowed) == Array(repeating: true, count: 10) + [false], "a window two back weighs nothing")
        #expect(old.prefix(10).map(\.remaining) == Array((0..<10).reversed()))
    }

    /// Runs one rate-limit decision on the server and checks that it is exactly what `RateLimitRule.decide` decides
    /// from the state stored before it, at an instant of the server's clock during the call, and that it left the
    /// state `decide` says (or, refused, the state as it was).
    ///
    /// The instant the server read is recovered from the answer: the reset of a window, with the window's start in
    /// the state, or the reset of a token bucket, with the bucket's timestamp in the state.
    package func checkedRateLimit(
        _ key: String,
        rule: RateLimitRule,
        _ operation: RateLimitOperation = .consume,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> RateLimitDecision {
        let before = try await self.store.get(key)
        let start = try await self.serverMicroseconds()
        let decision = try await self.store.rateLimit(key, rule: rule, operation)
        let end = try await self.serverMicroseconds()
        let after = try await self.store.get(key)

        // The instants the states name, and the two read around the call: a decision that does not depend on the
        // instant to the microsecond (a clamped block or bucket) names no instant of its own.
        let instants = Self.instants(of: decision, rule: rule, states: [before, after]) + [start, end]
        let agrees = instants.contains { now in
            // Windows are decided in whole milliseconds: the instant read lies in the millisecond `now` starts.
            guard now > start - 1000, now <= end else { return false }
            let step = rule.decide(state: before, now: .microseconds(now), operation: operation)
            return step.decision == decision && (step.newState ?? before) == after
        }
        #expect(
            agrees,
            """
            \(rule.algorithm), \(operation): the server decided \(decision) leaving \(after.map { String(buffer: $0) } ?? "nothing") from \
            \(before.map { String(buffer: $0) } ?? "no state"), which RateLimitRule.decide does not at any instant of \
            \(instants) within \(start)...\(end)
            """,
            sourceLocation: sourceLocation
        )
        return decision
    }

    /// The instants, in microseconds since the epoch, at which a decision may have been made: for windows, each
    /// window start a state names (or the window after it) plus the window, less the reset; for a token bucket, each
    /// timestamp a state names less the reset; for a block, the time it ends less the reset.
    private static func instants(of decision: RateLimitDecision, rule: RateLimitRule, states: [ByteBuffer?]) -> [Int64] {
        let (seconds, attoseconds) = decision.resetIn.components
        let reset = seconds * 1_000_000 + attoseconds / 1_000_000_000_000
        var blocks: [Int64] = []
        var blocked = false
        let stamps = states.compactMap { state -> Int64? in
            guard let state else { return nil }
            let fields = String(buffer: state).split(separator: " ")
            guard fields.count >= 2, let stamp = Int64(fields[1]) else { return nil }
            guard fields[0] != "B" else {
                blocked = true
                // A block longer than any names no instant (its reset is the longest block).
                let (until, overflow) = stamp.multipliedReportingOverflow(by: 1000)
                if !overflow { blocks.append(until - reset) }
                return nil
            }
            return stamp
        }
        guard !blocked else { return blocks }
        switch rule.algorithm {
        case .fixedWindow, .slidingWindow:
            let window = rule.windowMilliseconds
            return stamps.flatMap { start in [start, start + window].map { ($0 + window) * 1000 - reset } }
        case .tokenBucket:
            return stamps.map { $0 - reset }
        }
    }
}
