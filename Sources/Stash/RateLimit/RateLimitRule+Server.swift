// What a store that decides rate limits on its server (a Redis script, a PostgreSQL function) sends and gets back.

extension RateLimitRule {
    /// The rule's arguments for a server-side decision, after the key: the algorithm's code (`F` fixed window, `S`
    /// sliding window, `G` token bucket), the limit, the window in milliseconds, and the bucket's burst (0 for the
    /// windows); then ``blockMilliseconds`` and the operation's arguments.
    package var serverArguments: (algorithm: String, limit: Int64, windowMilliseconds: Int64, burst: Int64) {
        switch self.algorithm {
        case .fixedWindow: ("F", Int64(self.limit), self.windowMilliseconds, 0)
        case .slidingWindow: ("S", Int64(self.limit), self.windowMilliseconds, 0)
        case .tokenBucket(let burst): ("G", Int64(self.limit), self.windowMilliseconds, Int64(burst))
        }
    }
}

extension RateLimitDecision {
    /// A decision as a server-side decision answers it: admitted, limit, remaining, the reset and retry-after times
    /// in microseconds (the retry-after -1 for an admitted request), and the start of the window an admitted request
    /// counted in (-1 for none, and for a token bucket).
    package init(
        server isAllowed: Bool,
        limit: Int64,
        remaining: Int64,
        resetInMicroseconds: Int64,
        retryAfterMicroseconds: Int64,
        windowStart: Int64,
        operation: RateLimitOperation
    ) {
        self.init(
            isAllowed: isAllowed,
            limit: Int(limit),
            remaining: Int(remaining),
            resetIn: .microseconds(resetInMicroseconds),
            retryAfter: retryAfterMicroseconds < 0 ? nil : .microseconds(retryAfterMicroseconds),
            charge: isAllowed && operation.kind == .consume
                ? RateLimitCharge(cost: Int(operation.amount), windowStart: windowStart < 0 ? nil : windowStart) : nil
        )
    }
}

extension RateLimitOperation {
    /// The operation's arguments for a server-side decision: its code (`C` consume, `A` adjust, `R` refund, `B`
    /// block), its amount (cost, points, or milliseconds), and a refund's window start (-1 for none).
    package var serverArguments: (operation: String, amount: Int64, window: Int64) {
        (self.kind.rawValue, self.amount, self.window)
    }
}
