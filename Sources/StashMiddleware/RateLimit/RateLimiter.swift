import Crypto
import HTTPTypes
import Logging
import Metrics
public import Stash
import Tracing

/// Rate limiting as a middleware: fixed window, sliding window or token bucket (GCRA) policies, each request decided
/// in one atomic store step (``/Stash/Store/rateLimit(_:rule:)``), so any number of instances sharing a store admit
/// exactly the limit between them.
///
/// Admitted responses carry the IETF draft's `RateLimit-Policy` and `RateLimit` fields (or, when configured, draft
/// 06's `RateLimit-Limit`/`-Remaining`/`-Reset`, and the legacy `X-RateLimit-*` ones); a refused request gets 429
/// Too Many Requests with `Retry-After`, and the handler does not run.
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
///
/// Traces, when a tracer is bootstrapped (or ``Configuration/tracer`` set): deciding a request is a span
/// `stash.rate_limit` (the handler runs after it, not in it) with `stash.rate_limit.outcome` — `admitted`, `refused`,
/// or `error` when the store failed and the failure mode decided (the error recorded as its code) — the names of the
/// policies that decided in `stash.rate_limit.policies` and of those that refused in
/// `stash.rate_limit.refused_by`, and `stash.rate_limit.insured` when the insurance limiter decided. A request no
/// policy applies to has no outcome. The store's operations are spans of ``/Stash/TracingStore``, with
/// `stash.namespace` ``Configuration/storeName``. No client identity or store key is recorded.
public struct RateLimiter: HTTPMiddleware {
    /// A policy with the counters of its outcomes: a class, so a decision holds it with one reference.
    final class Limit: Sendable {
        let policy: RateLimitPolicy
        let allowed: Counter
        let refused: Counter
        let failed: Counter
        /// The decisions the insurance limiter made (``FailureMode/insurance``).
        let insured: Counter
        /// The policy's `RateLimit-Policy` member, made once: `"name";q=limit;w=window`.
        let policyMember: String

        init(policy: RateLimitPolicy, allowed: Counter, refused: Counter, failed: Counter, insured: Counter, policyMember: String) {
            self.policy = policy
            self.allowed = allowed
            self.refused = refused
            self.failed = failed
            self.insured = insured
            self.policyMember = policyMember
        }
    }

    let configuration: Configuration
    let store: any Store
    let tracing: MiddlewareTracing
    private let limits: [Limit]
    /// The refusals remembered, with ``Configuration/refusalMemory``.
    let refusals: RateLimitRefusals?
    /// The in-memory limiter of ``FailureMode/insurance``.
    let insurance: RateLimitInsurance?
    /// Whether a misconfiguration was logged: once per limiter.
    let warned = RateLimitWarning()
    /// Whether the limiter was seen applied twice to one request: logged once per limiter. Its identity is the
    /// limiter's in ``RateLimitChain``.
    let warnedTwice = RateLimitWarning()
    /// Whether a policy counts only some responses: the response is then looked at, and refunds made.
    private let correctsCounts: Bool
    let now: @Sendable () -> WallClock.Instant

    /// Creates a limiter whose store is the registry's store named ``Configuration/storeName``.
    public init(registry: StoreRegistry, configuration: Configuration) throws {
        try self.init(store: registry.store(named: configuration.storeName), configuration: configuration)
    }

    /// Creates a limiter on a given store.
    public init(store: any Store, configuration: Configuration) {
        self.init(store: store, configuration: configuration, clock: WallClock())
    }

    /// Creates a limiter on a given store, timing remembered refusals (``Configuration/refusalMemory``) by a given
    /// wall clock (a manual clock in tests). The decisions themselves are timed by the store.
    public init<C: Clock>(store: any Store, configuration: Configuration, clock: C) where C.Instant == WallClock.Instant {
        self.tracing = MiddlewareTracing(configured: configuration.tracer)
        self.store = self.tracing.store(store, namespace: configuration.storeName)
        self.configuration = configuration
        self.refusals = configuration.refusalMemory > 0 ? RateLimitRefusals(capacity: configuration.refusalMemory) : nil
        self.insurance = configuration.failureMode == .insurance ? RateLimitInsurance(logger: configuration.logger) : nil
        self.now = { clock.now }
        self.correctsCounts = configuration.policies.contains { policy in
            if case .all = policy.counting { return false }
            return true
        }
        self.limits = configuration.policies.map { policy in
            func counter(_ outcome: String) -> Counter {
                Counter(label: "stash_rate_limit_requests_total", dimensions: [("policy", policy.name), ("outcome", outcome)])
            }
            return Limit(
                policy: policy,
                allowed: counter("allowed"),
                refused: counter("refused"),
                failed: counter("error"),
                insured: Counter(label: "stash_rate_limit_insured_total", dimensions: [("policy", policy.name)]),
                policyMember: Self.policyMember(name: policy.name, limit: policy.rule.limit, window: policy.rule.window)
            )
        }
    }

    /// One policy's decision of a request: the policy, the rule and the store key it was decided by, and whether the
    /// insurance limiter decided it — what the headers and a refund after the response need.
    ///
    /// Small, as it is copied with each decision: a rule chosen for the request (``RateLimitPolicy/selectRule``) is
    /// held boxed, the policy's own through the policy (held inline, the rule made a decision 0.1 µs slower).
    struct Decided {
        /// A rule chosen for one request.
        final class SelectedRule: Sendable {
            let rule: RateLimitRule
            init(_ rule: RateLimitRule) { self.rule = rule }
        }

        let limit: Limit
        let selected: SelectedRule?
        let key: String
        let insured: Bool

        init(limit: Limit, selected rule: RateLimitRule?, key: String, insured: Bool) {
            self.limit = limit
            self.selected = rule.map(SelectedRule.init)
            self.key = key
            self.insured = insured
        }

        /// The rule the request was decided by.
        var rule: RateLimitRule { self.selected?.rule ?? self.limit.policy.rule }
    }

    public func respond(to request: StashRequest, next: (StashRequest) async throws -> StashResponse) async throws -> StashResponse {
        let excluded = self.configuration.excludedPaths
        if !excluded.isEmpty, excluded.contains(String(request.pathWithoutQuery)) { return try await next(request) }
        if self.configuration.skip?(request) == true { return try await next(request) }

        if let diagnose = self.configuration.identity.diagnose, !self.warned.isDone, let warning = diagnose(request) {
            self.warned.once { self.configuration.logger.warning("\(warning)") }
        }
        let chain = RateLimitChain.current
        if chain.contains(ObjectIdentifier(self.warnedTwice)) {
            self.warnedTwice.once {
                self.configuration.logger.warning(
                    """
                    a rate limiter (policies \(self.configuration.policies.map(\.name))) was applied twice to one request \
                    (\(request.head.method) \(request.pathWithoutQuery)), which then counts twice against its limits: \
                    apply it once, globally or per route group, not both
                    """
                )
            }
        }
        var decisions = RateLimitDecisions<Decided>()
        let failure =
            self.tracing.traces ? try await self.tracedDecision(request, into: &decisions) : try await self.decide(request, into: &decisions)
        if let failure { return try await self.fail(request, next: next, error: failure) }
        guard !decisions.isEmpty else { return try await next(request) }

        var response: StashResponse
        if let wait = decisions.longestRefusal {
            response = StashResponse(
                status: .tooManyRequests,
                headerFields: [.retryAfter: String(wait.roundedUpToSeconds), .contentType: "text/plain; charset=utf-8"],
                body: "Too Many Requests\n"
            )
        } else {
            // The handler runs with this limiter in the request's chain, where a second pass through it shows.
            do {
                response = try await RateLimitChain.$current.withValue(chain.adding(ObjectIdentifier(self.warnedTwice))) {
                    try await next(request)
                }
            } catch {
                if self.correctsCounts { await self.refund(decisions, unless: { $0.counts(nil) }) }
                throw error
            }
            if self.correctsCounts {
                let head = response.head
                await self.refund(decisions, unless: { $0.counts(head) })
            }
        }
        self.addHeaders(decisions, to: &response.head.headerFields)
        return response
    }

    /// ``decide(_:)`` in a span that says what it decided. Apart, so that the path without a tracer is as it was.
    @inline(never)
    private func tracedDecision(_ request: StashRequest, into decisions: inout RateLimitDecisions<Decided>) async throws -> (any Error)? {
        let (decided, failure) = try await DecisionSpan.run("stash.rate_limit", tracer: self.tracing.tracer) {
            var decided = RateLimitDecisions<Decided>()
            let failure = try await self.decide(request, into: &decided)
            if let span = DecisionSpan.current { Self.describe(decided, failure: failure, on: span) }
            return (decided, failure)
        }
        decisions = decided
        return failure
    }

    /// What the store (or the refusals remembered, or the insurance limiter) says of a request, policy by policy;
    /// none when no policy applies to it.
    /// - Returns: The store's error when it failed and no insurance limiter could decide, else `nil`.
    @inline(__always)
    private func decide(_ request: StashRequest, into decisions: inout RateLimitDecisions<Decided>) async throws -> (any Error)? {
        var identity: String?
        // A client this instance saw refused until later is refused again at once, without asking the store.
        let now = self.refusals == nil ? nil : self.now()
        if let refusals = self.refusals, let now {
            for limit in self.limits where limit.policy.appliesTo(request) {
                let client = identity ?? self.identity(of: request)
                identity = client
                let key = Self.key(policy: limit.policy.name, identity: client)
                guard let decision = refusals.refusal(of: key, at: now) else { continue }
                limit.refused.increment()
                decisions.append(Decided(limit: limit, selected: limit.policy.selectRule?(request), key: key, insured: false), decision)
            }
        }
        if decisions.isEmpty {
            for (index, limit) in self.limits.enumerated() where limit.policy.appliesTo(request) {
                let selected = limit.policy.selectRule?(request)
                let rule = selected ?? limit.policy.rule
                let cost = limit.policy.cost?(request) ?? 1
                // A request that costs nothing is none of this policy's business.
                if cost < 1 { continue }
                let client = identity ?? self.identity(of: request)
                identity = client
                let key = Self.key(policy: limit.policy.name, identity: client)
                var insured = false
                let decision: RateLimitDecision
                if cost > rule.maximumCost {
                    // Never admitted, whatever the count: no store round trip, and no wait to name.
                    decision = RateLimitDecision(isAllowed: false, limit: rule.maximumCost, remaining: 0, resetIn: rule.window, retryAfter: nil)
                } else {
                    do {
                        decision = try await self.store.rateLimit(key, rule: rule, .consume(cost))
                        self.insurance?.storeAnswered()
                    } catch {
                        guard let insurance = self.insurance else {
                            // This policy and the ones not yet decided could not decide the request.
                            for undecided in self.limits[index...] where undecided.policy.appliesTo(request) { undecided.failed.increment() }
                            return error
                        }
                        decision = try await insurance.decide(key, rule: rule, .consume(cost), storeError: error)
                        insured = true
                        limit.insured.increment()
                    }
                }
                (decision.isAllowed ? limit.allowed : limit.refused).increment()
                if !decision.isAllowed, let now { self.refusals?.remember(key, decision, at: now) }
                decisions.append(Decided(limit: limit, selected: selected, key: key, insured: insured), decision)
            }
        }
        return nil
    }

    /// Gives back what the admitted requests of `decisions` counted, for each policy whose counting `counts` says
    /// does not count. A refund that fails is logged (at debug level) and otherwise ignored: the request was served.
    private func refund(_ decisions: RateLimitDecisions<Decided>, unless counts: (RateLimitPolicy.Counting) -> Bool) async {
        for (decided, decision) in decisions {
            guard let charge = decision.charge, !counts(decided.limit.policy.counting) else { continue }
            // Where it was counted: the store, or the insurance limiter that decided while the store failed.
            let store: any Store = decided.insured ? self.insurance?.store ?? self.store : self.store
            do {
                _ = try await store.rateLimit(decided.key, rule: decided.rule, .refund(charge))
            } catch {
                self.configuration.logger.debug(
                    "rate limit refund failed",
                    metadata: ["error": "\(error)", "policy": "\(decided.limit.policy.name)"]
                )
            }
        }
    }

    /// Answers a request whose decision failed in the store, as ``Configuration/failureMode`` says.
    private func fail(
        _ request: StashRequest,
        next: (StashRequest) async throws -> StashResponse,
        error: any Error
    ) async throws -> StashResponse {
        self.configuration.logger.debug(
            "rate limit store failed",
            metadata: ["error": "\(error)", "failure_mode": "\(self.configuration.failureMode)"]
        )
        switch self.configuration.failureMode {
        case .open, .insurance:
            return try await next(request)
        case .closed:
            return StashResponse(status: .serviceUnavailable, headerFields: [.retryAfter: "1"], body: "Service Unavailable\n")
        }
    }

    /// The identity a request counts under, as ``Configuration/identity`` resolves it; requests without one share the
    /// identity `unknown`. What ``adjust(_:policy:by:rule:)`` and ``block(_:policy:for:)`` take.
    public func identity(of request: StashRequest) -> String {
        self.configuration.identity.resolve(request) ?? "unknown"
    }

    /// The store key of a policy and a client. Identities too long for a key are hashed (SHA-256).
    static func key(policy: String, identity: String) -> String {
        let key = policy + "|" + identity
        guard key.utf8.count > StoreLimits.maximumKeyLength || identity.isEmpty else { return key }
        return policy + "|#" + SHA256.hexDigest(identity.utf8)
    }

    /// A `RateLimit-Policy` member: `"name";q=limit;w=window`.
    private static func policyMember(name: String, limit: Int, window: Duration) -> String {
        "\"" + name + "\";q=" + String(limit) + ";w=" + String(window.roundedUpToSeconds)
    }

    private func addHeaders(_ decisions: RateLimitDecisions<Decided>, to fields: inout HTTPFields) {
        let legacy = self.configuration.legacyHeaders
        switch self.configuration.standardHeaders {
        case .current:
            // One copy of the handler's fields at most, with room for what is added.
            fields.reserveCapacity(fields.count + (legacy ? 5 : 2))
            self.addCurrentHeaders(decisions, to: &fields)
        case .draft6:
            fields.reserveCapacity(fields.count + (legacy ? 7 : 4))
            var policies = ""
            for index in decisions.indices {
                let (decided, decision) = decisions[index]
                if index > 0 { policies += ", " }
                policies += String(decision.limit) + ";w=" + String(decided.rule.window.roundedUpToSeconds)
            }
            Self.set(.rateLimitPolicy, policies, in: &fields)
            Self.setTightest(decisions, .rateLimitLimit, .rateLimitRemaining, .rateLimitReset, in: &fields)
        case .none:
            break
        }
        if legacy { Self.setTightest(decisions, .xRateLimitLimit, .xRateLimitRemaining, .xRateLimitReset, in: &fields) }
    }

    /// Sets the limit, remaining requests and reset time of the tightest decision (the fewest remaining) in the
    /// fields named: draft 06's, or the legacy `X-` ones.
    private static func setTightest(
        _ decisions: RateLimitDecisions<Decided>,
        _ limit: HTTPField.Name,
        _ remaining: HTTPField.Name,
        _ reset: HTTPField.Name,
        in fields: inout HTTPFields
    ) {
        guard let (_, tightest) = decisions.min(by: { $0.1.remaining < $1.1.remaining }) else { return }
        Self.set(limit, String(tightest.limit), in: &fields)
        Self.set(remaining, String(tightest.remaining), in: &fields)
        Self.set(reset, String(tightest.resetIn.roundedUpToSeconds), in: &fields)
    }

    /// The current draft's `RateLimit-Policy` and `RateLimit`, a member per policy.
    private func addCurrentHeaders(_ decisions: RateLimitDecisions<Decided>, to fields: inout HTTPFields) {
        // Appended piece by piece into one reserved string each: this runs on every limited request.
        var policies = ""
        var limits = ""
        limits.reserveCapacity(decisions.count * 40)
        // By index: an enumerated iterator over the decisions is not inlined, and copies each one once more.
        for index in decisions.indices {
            let (decided, decision) = decisions[index]
            let limit = decided.limit
            let rule = decided.rule
            if decisions.count == 1, decision.limit == limit.policy.rule.limit, rule.window == limit.policy.rule.window {
                // The member made once; not when the decision is not by the policy's own limit and window (a token
                // bucket's burst, a rule chosen for the request).
                policies = limit.policyMember
            } else {
                if index == 0 { policies.reserveCapacity(decisions.count * 40) } else { policies += ", " }
                policies += Self.policyMember(name: limit.policy.name, limit: decision.limit, window: rule.window)
            }
            if index > 0 { limits += ", " }
            limits += "\""
            limits += limit.policy.name
            limits += "\";r="
            limits += String(decision.remaining)
            limits += ";t="
            limits += String(decision.resetIn.roundedUpToSeconds)
        }
        Self.set(.rateLimitPolicy, policies, in: &fields)
        Self.set(.rateLimit, limits, in: &fields)
    }

    /// Sets a field, replacing any of that name the handler set: appended when there is none, the common case.
    private static func set(_ name: HTTPField.Name, _ value: String, in fields: inout HTTPFields) {
        if fields.contains(name) {
            fields[name] = value
        } else {
            fields.append(HTTPField(name: name, value: value))
        }
    }
}

extension HTTPField.Name {
    static let rateLimitPolicy = HTTPField.Name("RateLimit-Policy")!
    static let rateLimit = HTTPField.Name("RateLimit")!
    static let rateLimitLimit = HTTPField.Name("RateLimit-Limit")!
    static let rateLimitRemaining = HTTPField.Name("RateLimit-Remaining")!
    static let rateLimitReset = HTTPField.Name("RateLimit-Reset")!
    static let xRateLimitLimit = HTTPField.Name("X-RateLimit-Limit")!
    static let xRateLimitRemaining = HTTPField.Name("X-RateLimit-Remaining")!
    static let xRateLimitReset = HTTPField.Name("X-RateLimit-Reset")!
}
