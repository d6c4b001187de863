/// What ``Store/rateLimit(_:rule:_:)`` decided for one request, with what the `RateLimit` response headers report.
///
/// For an operation that decides no request (an adjustment, a refund, a block), what the key's state allows after it:
/// `isAllowed` when a request of cost 1 would be admitted now, `remaining` how many would.
public struct RateLimitDecision: Sendable, Hashable {
    /// Whether the request is admitted (and counted).
    public var isAllowed: Bool
    /// The rule's limit.
    public var limit: Int
    /// How many more requests would be admitted right now, after this one.
    public var remaining: Int
    /// How long until the limit is fully available again: the end of the window, or the time the bucket refills.
    public var resetIn: Duration
    /// For a refused request, how long until a request would be admitted; `nil` when admitted.
    public var retryAfter: Duration?
    /// For an admitted request, what it counted: what ``RateLimitOperation/refund(_:)`` takes back. `nil` for a
    /// refused request, and for the answer to an operation that decides no request.
    public var charge: RateLimitCharge?

    /// Creates a decision.
    public init(
        isAllowed: Bool,
        limit: Int,
        remaining: Int,
        resetIn: Duration,
        retryAfter: Duration?,
        charge: RateLimitCharge? = nil
    ) {
        self.isAllowed = isAllowed
        self.limit = limit
        self.remaining = remaining
        self.resetIn = resetIn
        self.retryAfter = retryAfter
        self.charge = charge
    }
}
