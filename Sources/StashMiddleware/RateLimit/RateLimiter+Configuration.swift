public import Logging
public import Tracing

extension RateLimiter {
    /// What the limiter does when its store fails (unreachable, timing out).
    public enum FailureMode: Sendable, Equatable {
        /// Admit the request, without rate-limit headers.
        case open
        /// Refuse the request with 503 Service Unavailable.
        case closed
        /// Decide with an in-memory limiter of this instance's own, with the same policies, until the store answers
        /// again (rate-limiter-flexible's `insuranceLimiter`): each instance then admits up to each limit by itself,
        /// so N instances admit up to N times it between them. Logged at warning level when it begins and when the
        /// store answers again, and counted in `stash_rate_limit_insured_total`.
        case insurance
    }

    /// The rate-limit fields of the IETF draft (draft-ietf-httpapi-ratelimit-headers) a limiter adds to responses.
    public enum StandardHeaders: Sendable, Equatable {
        /// The current draft's (08 onward): one `RateLimit-Policy` and one `RateLimit` field, a member per policy —
        /// `RateLimit-Policy: "default";q=100;w=60` and `RateLimit: "default";r=99;t=60`.
        case current
        /// Draft 06's, which many clients and gateways still read: `RateLimit-Limit`, `RateLimit-Remaining` and
        /// `RateLimit-Reset` of the tightest policy, and `RateLimit-Policy: 100;w=60` (a member per policy).
        case draft6
        /// None (``Configuration/legacyHeaders`` may still add the `X-RateLimit-*` ones).
        case none
    }

    /// How a ``RateLimiter`` limits.
    public struct Configuration: Sendable {
        /// The policies; a request counts against every one that applies to it, and is refused when any refuses.
        public var policies: [RateLimitPolicy]
        /// How clients are told apart.
        public var identity: ClientIdentity
        /// The name of the store in the registry.
        public var storeName: String
        /// Paths (without query) that are never limited, such as a health check.
        public var excludedPaths: Set<String>
        /// Requests for which this returns `true` are never limited.
        public var skip: (@Sendable (StashRequest) -> Bool)?
        /// Which of the IETF draft's fields to add: the current draft's by default.
        public var standardHeaders: StandardHeaders
        /// Whether to add `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` too.
        public var legacyHeaders: Bool
        /// How many refused clients (per policy) this instance remembers, refusing their next requests itself —
        /// without a store round trip — until the wait the store named ends (rate-limiter-flexible's
        /// `inMemoryBlockOnConsumed`): a client hammering past its limit then costs the store nothing. 0 (the
        /// default) remembers none. A refused request changes nothing in the store, so the store would refuse these
        /// requests too.
        public var refusalMemory: Int
        /// Open, closed or insured when the store fails.
        public var failureMode: FailureMode
        /// Where store failures are logged (at debug level), the insurance limiter's outages (warning, info) and, once
        /// per limiter, a misconfiguration a request shows (warning: `Forwarded` or `X-Forwarded-For` from a peer that
        /// is not a trusted proxy); by default nowhere.
        public var logger: Logger
        /// Where the middleware's spans (`stash.rate_limit`) and its store's go; `nil`, the default, for the tracer
        /// bootstrapped with `InstrumentationSystem`, if any. Looked up once, when the middleware is made: with no
        /// tracer, tracing costs nothing.
        public var tracer: (any Tracer)? = nil

        /// Creates a configuration.
        /// - Throws: ``StashMiddlewareError/Code/invalidConfiguration`` when there is no policy, two share a name, or
        ///   the refusal memory is negative.
        public init(
            policies: [RateLimitPolicy],
            identity: ClientIdentity,
            storeName: String = "rate_limit",
            excludedPaths: Set<String> = [],
            skip: (@Sendable (StashRequest) -> Bool)? = nil,
            standardHeaders: StandardHeaders = .current,
            legacyHeaders: Bool = false,
            refusalMemory: Int = 0,
            failureMode: FailureMode = .open,
            logger: Logger = Logger(label: "Stash.RateLimiter", factory: { _ in SwiftLogNoOpLogHandler() })
        ) throws(StashMiddlewareError) {
            guard !policies.isEmpty else { throw StashMiddlewareError.invalidConfiguration("a rate limiter needs at least one policy") }
            guard Set(policies.map(\.name)).count == policies.count else {
                throw StashMiddlewareError.invalidConfiguration("two rate-limit policies share a name: \(policies.map(\.name))")
            }
            guard refusalMemory >= 0 else {
                throw StashMiddlewareError.invalidConfiguration("a rate limiter's refusal memory is 0 or more clients, not \(refusalMemory)")
            }
            self.policies = policies
            self.identity = identity
            self.storeName = storeName
            self.excludedPaths = excludedPaths
            self.skip = skip
            self.standardHeaders = standardHeaders
            self.legacyHeaders = legacyHeaders
            self.refusalMemory = refusalMemory
            self.failureMode = failureMode
            self.logger = logger
        }
    }
}
