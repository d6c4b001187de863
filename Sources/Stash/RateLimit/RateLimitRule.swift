/// How many requests a rate limit admits, over what time, and by which algorithm; what
/// ``Store/rateLimit(_:rule:)`` decides with.
///
/// Every algorithm admits `limit` requests per `window` on average; they differ at the edges:
/// - ``Algorithm/fixedWindow`` counts requests in windows aligned to the clock (each starts at a multiple of
///   `window` since the Unix epoch), so every instance sharing the store agrees where a window starts. Cheap and predictable, but a client may send `limit` at the end of one window and `limit` again at the
///   start of the next.
/// - ``Algorithm/slidingWindow`` weighs the previous window's count by how much of it still overlaps the last
///   `window` of time (Cloudflare's approximation): no double burst at window edges, still two counters of state.
/// - ``Algorithm/tokenBucket(burst:)`` is GCRA: a bucket of `burst` tokens refilled at `limit` per `window`, kept as
///   one timestamp; requests are spread evenly and bursts are bounded exactly.
///
/// Only admitted requests count: a client that keeps being refused does not push its own limit further away — unless
/// the rule blocks (`blockingFor:`): then a refused request blocks its key for that long, refused whatever its count.
public struct RateLimitRule: Sendable, Hashable {
    /// The algorithm that decides.
    public enum Algorithm: Sendable, Hashable {
        /// A counter per clock-aligned window.
        case fixedWindow
        /// The current window's counter plus the previous one's, weighted by its overlap with the last `window`.
        case slidingWindow
        /// GCRA: a bucket holding up to `burst` requests, refilled at `limit` per `window`.
        case tokenBucket(burst: Int)
    }

    /// The largest `limit`, and `burst`, a rule accepts.
    public static let maximumLimit = 1_000_000_000
    /// The largest `limit` × `window` in milliseconds, and `burst` × `window` / `limit` in microseconds: 2⁵³, so
    /// that every store computes the decision exactly, including those that compute in double-precision numbers (Lua
    /// in Redis).
    public static let maximumLimitTimesWindow: Int64 = 1 << 53

    /// How many requests are admitted per window.
    public let limit: Int
    /// The length of the window.
    public let window: Duration
    /// The algorithm.
    public let algorithm: Algorithm
    /// The window in whole milliseconds.
    public let windowMilliseconds: Int64
    /// How long a refused request blocks its key (rate-limiter-flexible's `blockDuration`), or `nil` for never.
    public let blockDuration: Duration?
    /// ``blockDuration`` in whole milliseconds, 0 without one.
    public let blockMilliseconds: Int64

    /// The most one request may cost (``RateLimitOperation/consume(_:)``), and the most points an adjustment may add
    /// or take: the limit, or a token bucket's burst.
    public var maximumCost: Int {
        if case .tokenBucket(let burst) = self.algorithm { return burst }
        return self.limit
    }

    /// Creates a rule.
    /// - Throws: ``StoreError/Code/invalidConfiguration`` when `limit` (or `burst`) is not in
    ///   1…``maximumLimit``, the window is not a whole number of milliseconds between 1 ms and half of
    ///   ``StoreLimits/maximumExpiry``, or `limit` × `window` (or the bucket's capacity) exceeds
    ///   ``maximumLimitTimesWindow``, or `blockDuration` is not between 1 ms and ``StoreLimits/maximumExpiry``.
    public init(
        limit: Int,
        per window: Duration,
        algorithm: Algorithm = .fixedWindow,
        blockingFor blockDuration: Duration? = nil
    ) throws(StoreError) {
        func invalid(_ reason: String) -> StoreError {
            StoreError(.invalidConfiguration, "invalid rate limit \(limit) per \(window): \(reason)")
        }
        guard (1...Self.maximumLimit).contains(limit) else { throw invalid("the limit must be 1...\(Self.maximumLimit)") }
        guard window > .zero, window <= StoreLimits.maximumExpiry / 2 else {
            throw invalid("the window must be positive and at most half of \(StoreLimits.maximumExpiry)")
        }
        let milliseconds = window.roundedUpToMilliseconds
        guard window == .milliseconds(milliseconds) else { throw invalid("the window must be a whole number of milliseconds") }
        let (product, overflow) = Int64(limit).multipliedReportingOverflow(by: milliseconds)
        guard !overflow, product <= Self.maximumLimitTimesWindow else {
            throw invalid("limit × window (in milliseconds) must be at most 2^53")
        }
        if case .tokenBucket(let burst) = algorithm {
            guard (1...Self.maximumLimit).contains(burst) else { throw invalid("the burst must be 1...\(Self.maximumLimit)") }
            // The bucket's capacity, burst × window / limit, in microseconds.
            let interval = (milliseconds * 1000 + Int64(limit) - 1) / Int64(limit)
            let (capacity, overflow) = Int64(burst).multipliedReportingOverflow(by: interval)
            guard !overflow, capacity <= Self.maximumLimitTimesWindow else {
                throw invalid("burst × window / limit must be at most 2^53 microseconds")
            }
        }
        if let blockDuration {
            guard blockDuration > .zero, blockDuration <= StoreLimits.maximumExpiry else {
                throw invalid("the block duration must be positive and at most \(StoreLimits.maximumExpiry)")
            }
        }
        self.limit = limit
        self.window = window
        self.algorithm = algorithm
        self.windowMilliseconds = milliseconds
        self.blockDuration = blockDuration
        self.blockMilliseconds = blockDuration?.roundedUpToMilliseconds ?? 0
    }

    /// Checks that the rule can take an operation.
    /// - Throws: ``StoreError/Code/invalidConfiguration`` for a cost not in 1…``maximumCost``, points of zero or
    ///   beyond ``maximumCost`` either way, a refund of a cost not in 1…``maximumLimit``, or a block not between 1 ms
    ///   and ``StoreLimits/maximumExpiry``.
    public func validate(_ operation: RateLimitOperation) throws(StoreError) {
        let maximum = Int64(self.maximumCost)
        let valid =
            switch operation.kind {
            case .consume: (1...maximum).contains(operation.amount)
            case .adjust: operation.amount != 0 && (-maximum...maximum).contains(operation.amount)
            case .refund: (1...Int64(Self.maximumLimit)).contains(operation.amount)
            case .block: operation.amount > 0 && operation.amount <= Self.maximumBlockMilliseconds
            }
        // The reason is made only for an operation refused: this runs on every decision.
        guard !valid else { return }
        let reason =
            switch operation.kind {
            case .consume: "a request's cost must be 1...\(maximum), the most this rule ever admits at once"
            case .adjust: "an adjustment must be ±1...\(maximum) points"
            case .refund: "a refund's cost must be 1...\(Self.maximumLimit)"
            case .block: "a block must last 1 ms to \(StoreLimits.maximumExpiry)"
            }
        throw StoreError(.invalidConfiguration, "invalid rate-limit operation \(operation.kind) of \(operation.amount): \(reason)")
    }
}
