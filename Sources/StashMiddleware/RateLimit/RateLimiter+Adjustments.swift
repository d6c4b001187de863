public import Stash

extension RateLimiter {
    /// Adds a penalty (positive `points`) or a reward (negative) to a client's count under one of this limiter's
    /// policies, whatever the limit says, in one atomic store step (rate-limiter-flexible's `penalty` and `reward`):
    /// a count never falls below zero nor rises above the limit.
    ///
    /// ```swift
    /// // A request that failed a CAPTCHA costs three more.
    /// _ = try await limiter.adjust(limiter.identity(of: request), policy: "default", by: 3)
    /// ```
    /// - Parameters:
    ///   - client: The client's identity, as ``identity(of:)`` gives it.
    ///   - policy: The policy's name.
    ///   - points: ±1 up to the policy's rule's ``/Stash/RateLimitRule/maximumCost``.
    ///   - rule: The rule the count is kept by, for a policy that chooses one per request; by default the policy's.
    /// - Returns: What the client's count allows now.
    /// - Throws: ``StashMiddlewareError/Code/invalidConfiguration`` for a policy this limiter does not have; what the
    ///   store throws (``/Stash/StoreError/Code/invalidConfiguration`` for points the rule cannot take).
    public func adjust(_ client: String, policy: String, by points: Int, rule: RateLimitRule? = nil) async throws -> RateLimitDecision {
        try await self.apply(.adjust(by: points), to: client, policy: policy, rule: rule)
    }

    /// Refuses every request of a client under one of this limiter's policies for `duration` (or until a longer block
    /// already in place ends), whatever its count, on every instance sharing the store.
    ///
    /// ```swift
    /// // An account caught scraping is refused for a day.
    /// _ = try await limiter.block(limiter.identity(of: request), policy: "default", for: .seconds(86_400))
    /// ```
    /// - Throws: ``StashMiddlewareError/Code/invalidConfiguration`` for a policy this limiter does not have; what the
    ///   store throws (``/Stash/StoreError/Code/invalidConfiguration`` for a duration not in 1 ms…100 years).
    public func block(_ client: String, policy: String, for duration: Duration) async throws -> RateLimitDecision {
        try await self.apply(.block(for: duration), to: client, policy: policy, rule: nil)
    }

    /// Runs an operation on a client's count under a policy, by `rule` or the policy's own.
    private func apply(
        _ operation: RateLimitOperation,
        to client: String,
        policy name: String,
        rule: RateLimitRule?
    ) async throws -> RateLimitDecision {
        let policy = try self.policy(named: name)
        let key = Self.key(policy: policy.name, identity: client)
        let decision = try await self.store.rateLimit(key, rule: rule ?? policy.rule, operation)
        // This instance refuses the client itself, or no longer, as the store now would.
        self.refusals?.update(key, decision, at: self.now())
        return decision
    }

    /// The policy of a name.
    private func policy(named name: String) throws(StashMiddlewareError) -> RateLimitPolicy {
        guard let policy = self.configuration.policies.first(where: { $0.name == name }) else {
            throw StashMiddlewareError.invalidConfiguration(
                "this rate limiter has no policy named \(name.debugDescription): \(self.configuration.policies.map(\.name))"
            )
        }
        return policy
    }
}
