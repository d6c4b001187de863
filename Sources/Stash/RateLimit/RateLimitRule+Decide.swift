public import NIOCore

extension RateLimitRule {
    /// The outcome of ``decide(state:now:operation:)``: the decision, and the state to store (with its time to live), or `nil`
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
    /// token bucket: `G tat`, in milliseconds or microseconds of `now`'s timeline; a blocked key: `B until`). State
    /// that is missing, of another algorithm, or unreadable counts as no state: a rule that changes starts afresh.
    /// - Parameters:
    ///   - state: The value stored for the key, or `nil`.
    ///   - now: The current time since the Unix epoch, on a clock every client of the store shares (the server's,
    ///     for a store on a server). Any other origin makes stored state meaningless to the next process that reads
    ///     it: after a restart, or a snapshot loaded elsewhere.
    ///   - operation: What to do; one request of cost 1 by default. Check it first with ``validate(_:)``.
    public func decide(state: ByteBuffer?, now: Duration, operation: RateLimitOperation = .consume) -> Step {
        let plan = self.plan(state: state, now: now, operation: operation)
        return Step(decision: plan.decision, newState: plan.newState?.encoded(), expiresIn: plan.expiresIn)
    }

    /// A step whose new state is not yet written out: a store that can reuse the stored bytes writes it in place.
    struct Plan {
        var decision: RateLimitDecision
        var newState: RateLimitState?
        var expiresIn: Duration
    }

    /// Decides as ``decide(state:now:operation:)`` does, leaving the new state unencoded.
    func plan(state: ByteBuffer?, now: Duration, operation: RateLimitOperation = .consume) -> Plan {
        let fields = state.flatMap(RateLimitState.init)
        let (seconds, attoseconds) = now.components
        let microseconds = seconds * 1_000_000 + attoseconds / 1_000_000_000_000
        let milliseconds = microseconds / 1000
        if let fields, fields.tag == UInt8(ascii: "B"), fields.count == 1, fields.numbers.0 > milliseconds {
            // Blocked: refused whatever the operation, which changes nothing unless it blocks for longer. A block
            // longer than any operation sets (bytes someone else wrote) lasts the longest one can.
            let until = min(fields.numbers.0, milliseconds + Self.maximumBlockMilliseconds)
            if operation.kind == .block, operation.amount > until - milliseconds {
                return self.blocked(for: operation.amount, now: milliseconds)
            }
            return self.refused(resetIn: .milliseconds(until - milliseconds), retryAfter: .milliseconds(until - milliseconds))
        }
        if operation.kind == .block { return self.blocked(for: operation.amount, now: milliseconds) }
        switch self.algorithm {
        case .fixedWindow:
            return self.fixedWindow(fields, now: milliseconds, operation: operation)
        case .slidingWindow:
            return self.slidingWindow(fields, now: milliseconds, operation: operation)
        case .tokenBucket(let burst):
            return self.tokenBucket(fields, burst: Int64(burst), now: microseconds, operation: operation)
        }
    }

    private func fixedWindow(_ fields: RateLimitState?, now: Int64, operation: RateLimitOperation) -> Plan {
        let window = self.windowMilliseconds
        let start = now - Self.modulo(now, window)
        var count: Int64 = 0
        // A count this rule cannot reach (another rule's, or bytes someone else wrote) counts as a full window: no
        // arithmetic on it may overflow.
        if let fields, fields.tag == UInt8(ascii: "F"), fields.count == 2, fields.numbers.0 == start {
            count = min(max(fields.numbers.1, 0), Int64(self.limit))
        }
        let resetIn = start + window - now
        let limit = Int64(self.limit)
        switch operation.kind {
        case .consume:
            guard count + operation.amount <= limit else {
                return self.refusedOrBlocked(resetIn: .milliseconds(resetIn), retryAfter: .milliseconds(resetIn), now: now)
            }
            count += operation.amount
        case .adjust:
            count = min(max(count + operation.amount, 0), limit)
        case .refund:
            // Only the window the request counted in: a count of another is none of its business.
            guard operation.window == start, count > 0 else { return self.fixedWindowStatus(count, resetIn: resetIn, newState: nil) }
            count = max(count - operation.amount, 0)
        case .block:
            preconditionFailure("a block is planned before the algorithm")
        }
        let newState = RateLimitState(tag: UInt8(ascii: "F"), numbers: (start, count, 0), count: 2)
        guard operation.kind == .consume else { return self.fixedWindowStatus(count, resetIn: resetIn, newState: newState) }
        return Plan(
            decision: RateLimitDecision(
                isAllowed: true,
                limit: self.limit,
                remaining: Int(limit - count),
                resetIn: .milliseconds(resetIn),
                retryAfter: nil,
                charge: RateLimitCharge(cost: Int(operation.amount), windowStart: start)
            ),
            newState: newState,
            expiresIn: .milliseconds(resetIn)
        )
    }

    /// What a fixed window's count allows, after an operation that decided no request.
    private func fixedWindowStatus(_ count: Int64, resetIn: Int64, newState: RateLimitState?) -> Plan {
        let allowed = count < Int64(self.limit)
        return Plan(
            decision: RateLimitDecision(
                isAllowed: allowed,
                limit: self.limit,
                remaining: Int(max(0, Int64(self.limit) - count)),
                resetIn: .milliseconds(resetIn),
                retryAfter: allowed ? nil : .milliseconds(resetIn)
            ),
            newState: newState,
            expiresIn: .milliseconds(resetIn)
        )
    }

    private func slidingWindow(_ fields: RateLimitState?, now: Int64, operation: RateLimitOperation) -> Plan {
        let window = self.windowMilliseconds
        let start = now - Self.modulo(now, window)
        var previous: Int64 = 0
        var current: Int64 = 0
        if let fields, fields.tag == UInt8(ascii: "S"), fields.count == 3 {
            let (stored, storedPrevious, storedCurrent) = fields.numbers
            if stored == start {
                (previous, current) = (Self.counted(storedPrevious, limit: self.limit), Self.counted(storedCurrent, limit: self.limit))
            } else if stored == start - window {
                previous = Self.counted(storedCurrent, limit: self.limit)
            }
        }
        let elapsed = now - start
        let overlap = window - elapsed  // of the previous window with the last `window` of time, in 1…window
        let limit = Int64(self.limit)
        // Admitted when previous × overlap / window + current + cost ≤ limit, in integers.
        var budget = limit * window - previous * overlap
        let resetIn = Duration.milliseconds(overlap)
        switch operation.kind {
        case .consume:
            let cost = operation.amount
            guard (current + cost) * window <= budget else {
                let wait = Self.slidingWait(
                    cost: cost,
                    previous: previous,
                    current: current,
                    limit: limit,
                    window: window,
                    overlap: overlap,
                    budget: budget
                )
                return self.refusedOrBlocked(resetIn: resetIn, retryAfter: .milliseconds(wait), now: now)
            }
            current += cost
        case .adjust:
            current = min(max(current + operation.amount, 0), limit)
        case .refund:
            // The window the request counted in, this one or the previous, still weighs: its count is corrected.
            if operation.window == start, current > 0 {
                current = max(current - operation.amount, 0)
            } else if operation.window == start - window, previous > 0 {
                previous = max(previous - operation.amount, 0)
                budget = limit * window - previous * overlap
            } else {
                return self.slidingWindowStatus(previous: previous, current: current, overlap: overlap, budget: budget, newState: nil)
            }
        case .block:
            preconditionFailure("a block is planned before the algorithm")
        }
        let newState = RateLimitState(tag: UInt8(ascii: "S"), numbers: (start, previous, current), count: 3)
        guard operation.kind == .consume else {
            return self.slidingWindowStatus(previous: previous, current: current, overlap: overlap, budget: budget, newState: newState)
        }
        return Plan(
            decision: RateLimitDecision(
                isAllowed: true,
                limit: self.limit,
                remaining: Int(max(0, (budget - current * window) / window)),
                resetIn: resetIn,
                retryAfter: nil,
                charge: RateLimitCharge(cost: Int(operation.amount), windowStart: start)
            ),
            newState: newState,
            // The count is still needed as the previous window's throughout the next one.
            expiresIn: .milliseconds(overlap + window)
        )
    }

    /// How long, in milliseconds, until a sliding window admits a request of `cost`.
    private static func slidingWait(
        cost: Int64,
        previous: Int64,
        current: Int64,
        limit: Int64,
        window: Int64,
        overlap: Int64,
        budget: Int64
    ) -> Int64 {
        let wait: Int64
        if current + cost <= limit {
            // The previous window's weight falls by `previous` per millisecond (in units of 1/window); past its
            // end, this window's count alone, under the limit, admits the request.
            let excess = (current + cost) * window - budget
            wait = min(overlap, (excess + previous - 1) / previous)
        } else {
            // Into the next window, where this window's count weighs current × (window − t) / window.
            wait = overlap + (window * (current - limit + cost) + current - 1) / current
        }
        return max(wait, 1)
    }

    /// What a sliding window's counts allow, after an operation that decided no request.
    private func slidingWindowStatus(previous: Int64, current: Int64, overlap: Int64, budget: Int64, newState: RateLimitState?) -> Plan {
        let window = self.windowMilliseconds
        let allowed = (current + 1) * window <= budget
        let wait =
            allowed
            ? 0
            : Self.slidingWait(
                cost: 1,
                previous: previous,
                current: current,
                limit: Int64(self.limit),
                window: window,
                overlap: overlap,
                budget: budget
            )
        return Plan(
            decision: RateLimitDecision(
                isAllowed: allowed,
                limit: self.limit,
                remaining: Int(max(0, (budget - current * window) / window)),
                resetIn: .milliseconds(overlap),
                retryAfter: allowed ? nil : .milliseconds(wait)
            ),
            newState: newState,
            expiresIn: .milliseconds(overlap + window)
        )
    }

    private func tokenBucket(_ fields: RateLimitState?, burst: Int64, now: Int64, operation: RateLimitOperation) -> Plan {
        // In microseconds. The emission interval is rounded up: the rate is never above `limit` per `window`.
        let interval = (self.windowMilliseconds * 1000 + Int64(self.limit) - 1) / Int64(self.limit)
        let capacity = burst * interval
        var tat = now
        // A bucket emptier than empty (another rule's, or bytes someone else wrote) counts as empty.
        if let fields, fields.tag == UInt8(ascii: "G"), fields.count == 1, fields.numbers.0 > now {
            tat = min(fields.numbers.0, now + capacity)
        }
        switch operation.kind {
        case .consume:
            let next = tat + operation.amount * interval
            let allowedAt = next - capacity
            guard allowedAt <= now else {
                return self.refusedOrBlocked(
                    resetIn: .microseconds(tat - now),
                    retryAfter: .microseconds(allowedAt - now),
                    now: now / 1000
                )
            }
            return Plan(
                decision: RateLimitDecision(
                    isAllowed: true,
                    limit: Int(burst),
                    remaining: Int((now + capacity - next) / interval),
                    resetIn: .microseconds(next - now),
                    retryAfter: nil,
                    charge: RateLimitCharge(cost: Int(operation.amount), windowStart: nil)
                ),
                newState: RateLimitState(tag: UInt8(ascii: "G"), numbers: (next, 0, 0), count: 1),
                expiresIn: .milliseconds(max(1, (next - now + 999) / 1000))
            )
        case .adjust:
            tat = min(max(tat + operation.amount * interval, now), now + capacity)
        case .refund:
            guard tat > now else { return self.tokenBucketStatus(tat: tat, burst: burst, now: now, newState: false) }
            tat = max(tat - operation.amount * interval, now)
        case .block:
            preconditionFailure("a block is planned before the algorithm")
        }
        return self.tokenBucketStatus(tat: tat, burst: burst, now: now, newState: true)
    }

    /// What a token bucket's timestamp allows, after an operation that decided no request.
    private func tokenBucketStatus(tat: Int64, burst: Int64, now: Int64, newState: Bool) -> Plan {
        let interval = (self.windowMilliseconds * 1000 + Int64(self.limit) - 1) / Int64(self.limit)
        let allowedAt = tat + interval - burst * interval
        let allowed = allowedAt <= now
        return Plan(
            decision: RateLimitDecision(
                isAllowed: allowed,
                limit: Int(burst),
                remaining: Int(max(0, now + burst * interval - tat) / interval),
                resetIn: .microseconds(tat - now),
                retryAfter: allowed ? nil : .microseconds(allowedAt - now)
            ),
            newState: newState ? RateLimitState(tag: UInt8(ascii: "G"), numbers: (tat, 0, 0), count: 1) : nil,
            expiresIn: .milliseconds(max(1, (tat - now + 999) / 1000))
        )
    }

    /// A refusal; with ``blockDuration``, one that blocks the key (`now` in milliseconds).
    private func refusedOrBlocked(resetIn: Duration, retryAfter: Duration, now: Int64) -> Plan {
        guard self.blockMilliseconds > 0 else { return self.refused(resetIn: resetIn, retryAfter: retryAfter) }
        return self.blocked(for: self.blockMilliseconds, now: now)
    }

    /// A refusal that blocks the key for `milliseconds` from `now` (in milliseconds).
    private func blocked(for milliseconds: Int64, now: Int64) -> Plan {
        var plan = self.refused(resetIn: .milliseconds(milliseconds), retryAfter: .milliseconds(milliseconds))
        plan.newState = RateLimitState(tag: UInt8(ascii: "B"), numbers: (now + milliseconds, 0, 0), count: 1)
        plan.expiresIn = .milliseconds(milliseconds)
        return plan
    }

    private func refused(resetIn: Duration, retryAfter: Duration) -> Plan {
        Plan(
            decision: RateLimitDecision(
                isAllowed: false,
                limit: self.maximumCost,
                remaining: 0,
                resetIn: resetIn,
                retryAfter: retryAfter
            ),
            newState: nil,
            expiresIn: .zero
        )
    }

    /// A stored window count as this rule counts it: 0 up to its limit, so that a count it cannot reach (another
    /// rule's, or bytes someone else wrote) weighs as a full window and no arithmetic on it overflows.
    private static func counted(_ stored: Int64, limit: Int) -> Int64 {
        min(max(stored, 0), Int64(limit))
    }

    /// The longest block an operation or a rule sets, in milliseconds: a stored block is never longer.
    package static let maximumBlockMilliseconds = StoreLimits.maximumExpiry.roundedUpToMilliseconds

    /// `value` modulo `divisor`, never negative.
    private static func modulo(_ value: Int64, _ divisor: Int64) -> Int64 {
        let remainder = value % divisor
        return remainder < 0 ? remainder + divisor : remainder
    }
}
