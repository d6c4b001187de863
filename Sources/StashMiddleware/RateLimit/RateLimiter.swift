import Crypto
import HTTPTypes
import Logging
import Metrics
public import Stash

/// Rate limiting as a middleware: fixed window, sliding window or token bucket (GCRA) policies, each request decided
/// in one atomic store step (``Stash/Store/rateLimit(_:rule:)``), so any number of instances sharing a store admit
/// exactly the limit between them.
///
/// Admitted responses carry the IETF `RateLimit-Policy` and `RateLimit` fields (and, when configured, the legacy
/// `X-RateLimit-*` ones); a refused request gets 429 Too Many Requests with `Retry-After`, and the handler does not
/// run.
///
/// ```swift
/// let limiter = try RateLimiter(
///     registry: registry,
///     configuration: .init(
///         policies: [RateLimitPolicy(rule: RateLimitRule(limit: 100, per: .seconds(60), algorithm: .slidingWindow))],
///         identity: .clientAddress(trustedProxies: ["10.0.0.0/8"])
///     )
/// )
/// ```
///
/// Metrics: `stash_rate_limit_requests_total` with dimensions `policy` and `outcome` (`allowed`, `refused`,
/// `error`).
public struct RateLimiter: HTTPMiddleware {
    /// A policy with the counters of its outcomes.
    private struct Limit: Sendable {
        let policy: RateLimitPolicy
        let allowed: Counter
        let refused: Counter
        let failed: Counter
    }

    let configuration: Configuration
    let store: any Store
    private let limits: [Limit]

    /// Creates a limiter whose store is the registry's store named ``Configuration/storeName``.
    public init(registry: StoreRegistry, configuration: Configuration) throws {
        try self.init(store: registry.store(named: configuration.storeName), configuration: configuration)
    }

    /// Creates a limiter on a given store.
    public init(store: any Store, configuration: Configuration) {
        self.store = store
        self.configuration = configuration
        self.limits = configuration.policies.map { policy in
            func counter(_ outcome: String) -> Counter {
                Counter(label: "stash_rate_limit_requests_total", dimensions: [("policy", policy.name), ("outcome", outcome)])
            }
            return Limit(policy: policy, allowed: counter("allowed"), refused: counter("refused"), failed: counter("error"))
        }
    }

    public func respond(to request: StashRequest, next: (StashRequest) async throws -> StashResponse) async throws -> StashResponse {
        if self.configuration.excludedPaths.contains(String(request.pathWithoutQuery)) || self.configuration.skip?(request) == true {
            return try await next(request)
        }
        let limits = self.limits.filter { $0.policy.appliesTo(request) }
        guard !limits.isEmpty else { return try await next(request) }
        let identity = self.identity(of: request)

        var decisions: [(RateLimitPolicy, RateLimitDecision)] = []
        do {
            for limit in limits {
                let policy = limit.policy
                let decision = try await self.store.rateLimit(Self.key(policy: policy.name, identity: identity), rule: policy.rule)
                (decision.isAllowed ? limit.allowed : limit.refused).increment()
                decisions.append((policy, decision))
            }
        } catch {
            for limit in limits { limit.failed.increment() }
            self.configuration.logger.debug(
                "rate limit store failed",
                metadata: ["error": "\(error)", "failure_mode": "\(self.configuration.failureMode)"]
            )
            switch self.configuration.failureMode {
            case .open:
                return try await next(request)
            case .closed:
                return StashResponse(status: .serviceUnavailable, headerFields: [.retryAfter: "1"], body: "Service Unavailable\n")
            }
        }

        let refusals = decisions.filter { !$0.1.isAllowed }
        var response: StashResponse
        if refusals.isEmpty {
            response = try await next(request)
        } else {
            let wait = refusals.compactMap(\.1.retryAfter).max() ?? .seconds(1)
            response = StashResponse(
                status: .tooManyRequests,
                headerFields: [.retryAfter: String(wait.roundedUpToSeconds), .contentType: "text/plain; charset=utf-8"],
                body: "Too Many Requests\n"
            )
        }
        self.addHeaders(decisions, to: &response.head.headerFields)
        return response
    }

    /// The identity a request counts under; requests without one share the bucket `unknown`.
    func identity(of request: StashRequest) -> String {
        self.configuration.identity.resolve(request) ?? "unknown"
    }

    /// The store key of a policy and a client. Identities too long for a key are hashed (SHA-256).
    static func key(policy: String, identity: String) -> String {
        let key = policy + "|" + identity
        guard key.utf8.count > StoreLimits.maximumKeyLength || identity.isEmpty else { return key }
        return policy + "|#" + SHA256.hexDigest(identity.utf8)
    }

    private func addHeaders(_ decisions: [(RateLimitPolicy, RateLimitDecision)], to fields: inout HTTPFields) {
        // Appended piece by piece into one reserved string each: this runs on every limited request.
        var policies = ""
        var limits = ""
        policies.reserveCapacity(decisions.count * 40)
        limits.reserveCapacity(decisions.count * 40)
        for (index, (policy, decision)) in decisions.enumerated() {
            if index > 0 {
                policies += ", "
                limits += ", "
            }
            policies += "\""
            policies += policy.name
            policies += "\";q="
            policies += String(decision.limit)
            policies += ";w="
            policies += String(policy.rule.window.roundedUpToSeconds)
            limits += "\""
            limits += policy.name
            limits += "\";r="
            limits += String(decision.remaining)
            limits += ";t="
            limits += String(decision.resetIn.roundedUpToSeconds)
        }
        fields[.rateLimitPolicy] = policies
        fields[.rateLimit] = limits
        if self.configuration.legacyHeaders, let (_, tightest) = decisions.min(by: { $0.1.remaining < $1.1.remaining }) {
            fields[.xRateLimitLimit] = String(tightest.limit)
            fields[.xRateLimitRemaining] = String(tightest.remaining)
            fields[.xRateLimitReset] = String(tightest.resetIn.roundedUpToSeconds)
        }
    }
}

extension HTTPField.Name {
    static let rateLimitPolicy = HTTPField.Name("RateLimit-Policy")!
    static let rateLimit = HTTPField.Name("RateLimit")!
    static let xRateLimitLimit = HTTPField.Name("X-RateLimit-Limit")!
    static let xRateLimitRemaining = HTTPField.Name("X-RateLimit-Remaining")!
    static let xRateLimitReset = HTTPField.Name("X-RateLimit-Reset")!
}
