/// What one ``Store/rateLimit(_:rule:_:)`` call does to a key's rate-limit state, in one atomic step: decide a request
/// of some cost, add a penalty or a reward, take back what an admitted request counted, or block the key.
///
/// ```swift
/// // An upload costs one point per megabyte.
/// let decision = try await store.rateLimit(key, rule: rule, .consume(megabytes))
/// // A failed login costs two more; a good one gives its point back.
/// _ = try await store.rateLimit(key, rule: rule, .adjust(by: 2))
/// if let charge = decision.charge { _ = try await store.rateLimit(key, rule: rule, .refund(charge)) }
/// // An abusive client is refused for an hour, whatever its count.
/// _ = try await store.rateLimit(key, rule: rule, .block(for: .seconds(3600)))
/// ```
public struct RateLimitOperation: Sendable, Hashable {
    /// The operation's kind, as the server-side decisions name it.
    package enum Kind: String, Sendable, Hashable {
        /// A request of a cost: admitted and counted, or refused.
        case consume = "C"
        /// A penalty (positive) or reward (negative), applied whatever the count.
        case adjust = "A"
        /// What an admitted request counted, taken back.
        case refund = "R"
        /// Every request refused until a time.
        case block = "B"
    }

    package let kind: Kind
    /// The cost, the points, the cost refunded, or the block's length in milliseconds.
    package let amount: Int64
    /// For a refund, the start of the window the request was counted in, in milliseconds since the epoch; -1 when
    /// the algorithm has no windows (and for every other operation).
    package let window: Int64

    private init(_ kind: Kind, _ amount: Int64, window: Int64 = -1) {
        self.kind = kind
        self.amount = amount
        self.window = window
    }

    /// Decides one request that costs 1: ``consume(_:)`` of 1.
    public static let consume = RateLimitOperation(.consume, 1)

    /// Decides one request that costs `cost` of the limit (a weighted request: by route, by payload size): admitted
    /// and counted when the limit has room for all of it, refused (and counted not at all) otherwise.
    ///
    /// The cost is 1 up to the rule's limit (a token bucket's burst): one that could never be admitted is an error.
    public static func consume(_ cost: Int) -> RateLimitOperation {
        RateLimitOperation(.consume, Int64(cost))
    }

    /// Adds `points` to the key's count (a penalty) or, negative, takes them off (a reward), whether or not the limit
    /// has room: a count never falls below zero nor rises above the limit (to refuse for longer, ``block(for:)``).
    ///
    /// `points` is not zero and at most the rule's limit (a token bucket's burst) either way.
    public static func adjust(by points: Int) -> RateLimitOperation {
        RateLimitOperation(.adjust, Int64(points))
    }

    /// Takes back what an admitted request counted, when it turns out not to matter (a successful login, under a
    /// limit on failed ones). A window's count is corrected only while the window the request counted in still
    /// weighs: a refund after it has ended changes nothing.
    public static func refund(_ charge: RateLimitCharge) -> RateLimitOperation {
        RateLimitOperation(.refund, Int64(charge.cost), window: charge.windowStart ?? -1)
    }

    /// Refuses every request on the key for `duration` from now (or until a longer block already in place ends),
    /// whatever its count; when the block ends, the key starts afresh. `duration` is rounded up to whole
    /// milliseconds and at most ``StoreLimits/maximumExpiry``.
    public static func block(for duration: Duration) -> RateLimitOperation {
        let milliseconds = duration <= .zero ? 0 : duration > StoreLimits.maximumExpiry ? Int64.max : duration.roundedUpToMilliseconds
        return RateLimitOperation(.block, milliseconds)
    }
}

/// What an admitted request counted against a rate limit: what ``RateLimitOperation/refund(_:)`` takes back.
public struct RateLimitCharge: Sendable, Hashable {
    /// The request's cost.
    public let cost: Int
    /// The start of the window the request was counted in, since the Unix epoch on the store's clock, for the window
    /// algorithms; `nil` for a token bucket.
    public let windowStart: Int64?

    /// Creates a charge (stores make them; an application keeps the one a decision carries).
    public init(cost: Int, windowStart: Int64?) {
        self.cost = cost
        self.windowStart = windowStart
    }
}
