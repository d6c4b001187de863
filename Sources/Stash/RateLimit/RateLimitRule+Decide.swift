public import NIOCore

extension RateLimitRule {
    /// The outcome of ``decide(state:now:)``: the decision, and the state to store (with its time to live), or `nil`
    /// when the stored state stays as it is.
    public struct Step: Sendable {
        /// The decision for the request.
        public var decision: RateLimitDecision
        /// The new state to store, or `nil` to leave the key unchanged (a refused request changes nothing).
        public var newState: ByteBuffer?
        /// How long the new state must be kept: after that it means the same as no state at all.
        public var expiresIn: Duration
    }

    /// Decides one request from the stored state, as every built-in store does it inside one atomic step (under its
    /// lock, in a Lua script, in one SQL statement). A store of your own can run it inside its atomic update.
    ///
    /// The state is a short ASCII text (`fixed` windows: `F start count`; sliding: `S start previous current`;
    /// token bucket: `G tat`, in milliseconds or microseconds of `now`'s timeline). State that is missing, of another
    /// algorithm, or unreadable counts as no state: a rule that changes starts afresh.
    /// - Parameters:
    ///   - state: The value stored for the key, or `nil`.
    ///   - now: The current time since the Unix epoch, on a clock every client of the store shares (the server's,
    ///     for a store on a server). Any other origin makes stored state meaningless to the next process that reads
    ///     it: after a restart, or a snapshot loaded elsewhere.
    public func decide(state: ByteBuffer?, now: Duration) -> Step {
        let plan = self.plan(state: state, now: now)
        return Step(decision: plan.decision, newState: plan.newState?.encoded(), expiresIn: plan.expiresIn)
    }

    /// A step whose new state is not yet written out: a store that can reuse the stored bytes writes it in place.
    struct Plan {
        var decision: RateLimitDecision
        var newState: RateLimitState?
        var expiresIn: Duration
    }

    /// Decides as ``decide(state:now:)`` does, leaving the new state unencoded.
    func plan(state: ByteBuffer?, now: Duration) -> Plan {
        let fields = state.flatMap(RateLimitState.init)
        let (seconds, attoseconds) = now.components
        let microseconds = seconds * 1_000_000 + attoseconds / 1_000_000_000_000
        switch self.algorithm {
        case .fixedWindow:
            return self.fixedWindow(fields, now: microseconds / 1000)
        case .slidingWindow:
            return self.slidingWindow(fields, now: microseconds / 1000)
        case .tokenBucket(let burst):
            return self.tokenBucket(fields, burst: Int64(burst), now: microseconds)
        }
    }

    private func fixedWindow(_ fields: RateLimitState?, now: Int64) -> Plan {
        let window = self.windowMilliseconds
        let start = now - Self.modulo(now, window)
        var count: Int64 = 0
        if let fields, fields.tag == UInt8(ascii: "F"), fields.count == 2, fields.numbers.0 == start { count = fields.numbers.1 }
        let resetIn = start + window - now
        let limit = Int64(self.limit)
        guard count < limit else {
            return self.refused(resetIn: .milliseconds(resetIn), retryAfter: .milliseconds(resetIn))
        }
        count += 1
        return Plan(
            decision: RateLimitDecision(
                isAllowed: true,
                limit: self.limit,
                remaining: Int(limit - count),
                resetIn: .milliseconds(resetIn),
                retryAfter: nil
            ),
            newState: RateLimitState(tag: UInt8(ascii: "F"), numbers: (start, count, 0), count: 2),
            expiresIn: .milliseconds(resetIn)
        )
    }

    private func slidingWindow(_ fields: RateLimitState?, now: Int64) -> Plan {
        let window = self.windowMilliseconds
        let start = now - Self.modulo(now, window)
        var previous: Int64 = 0
        var current: Int64 = 0
        if let fields, fields.tag == UInt8(ascii: "S"), fields.count == 3 {
            let (stored, storedPrevious, storedCurrent) = fields.numbers
            if stored == start {
                (previous, current) = (storedPrevious, storedCurrent)
            } else if stored == start - window {
                previous = storedCurrent
            }
        }
        let elapsed = now - start
        let overlap = window - elapsed  // of the previous window with the last `window` of time, in 1…window
        let limit = Int64(self.limit)
        // Admitted when previous × overlap / window + current + 1 ≤ limit, in integers.
        let budget = limit * window - previous * overlap
        let resetIn = Duration.milliseconds(overlap)
        guard (current + 1) * window <= budget else {
            var wait: Int64
            if current + 1 <= limit {
                // The previous window's weight falls by `previous` per millisecond (in units of 1/window); past its
                // end, this window's count alone, under the limit, admits one more.
                let excess = (current + 1) * window - budget
                wait = min(overlap, (excess + previous - 1) / previous)
            } else {
                // Into the next window, where this window's count weighs current × (window − t) / window.
                wait = overlap + (window * (current - limit + 1) + current - 1) / current
            }
            return self.refused(resetIn: resetIn, retryAfter: .milliseconds(max(wait, 1)))
        }
        current += 1
        return Plan(
            decision: RateLimitDecision(
                isAllowed: true,
                limit: self.limit,
                remaining: Int(max(0, (budget - current * window) / window)),
                resetIn: resetIn,
                retryAfter: nil
            ),
            newState: RateLimitState(tag: UInt8(ascii: "S"), numbers: (start, previous, current), count: 3),
            // The count is still needed as the previous window's throughout the next one.
            expiresIn: .milliseconds(overlap + window)
        )
    }

    private func tokenBucket(_ fields: RateLimitState?, burst: Int64, now: Int64) -> Plan {
        // In microseconds. The emission interval is rounded up: the rate is never above `limit` per `window`.
        let interval = (self.windowMilliseconds * 1000 + Int64(self.limit) - 1) / Int64(self.limit)
        let capacity = burst * interval
        var tat = now
        if let fields, fields.tag == UInt8(ascii: "G"), fields.count == 1, fields.numbers.0 > now { tat = fields.numbers.0 }
        let next = tat + interval
        let allowedAt = next - capacity
        guard allowedAt <= now else {
            return self.refused(
                resetIn: .microseconds(tat - now),
                retryAfter: .microseconds(allowedAt - now),
                limit: Int(burst)
            )
        }
        return Plan(
            decision: RateLimitDecision(
                isAllowed: true,
                limit: Int(burst),
                remaining: Int((now + capacity - next) / interval),
                resetIn: .microseconds(next - now),
                retryAfter: nil
            ),
            newState: RateLimitState(tag: UInt8(ascii: "G"), numbers: (next, 0, 0), count: 1),
            expiresIn: .milliseconds(max(1, (next - now + 999) / 1000))
        )
    }

    private func refused(resetIn: Duration, retryAfter: Duration, limit: Int? = nil) -> Plan {
        Plan(
            decision: RateLimitDecision(
                isAllowed: false,
                limit: limit ?? self.limit,
                remaining: 0,
                resetIn: resetIn,
                retryAfter: retryAfter
            ),
            newState: nil,
            expiresIn: .zero
        )
    }

    /// `value` modulo `divisor`, never negative.
    private static func modulo(_ value: Int64, _ divisor: Int64) -> Int64 {
        let remainder = value % divisor
        return remainder < 0 ? remainder + divisor : remainder
    }
}
