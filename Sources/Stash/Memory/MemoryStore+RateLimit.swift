import Synchronization

extension MemoryStore {
    /// Decides a rate limit under the store's lock, timed by the store's clock.
    public func rateLimit(_ key: String, rule: RateLimitRule) async throws -> RateLimitDecision {
        try StoreValidation.validateKey(key)
        return self.storage.state.withLock { state in
            state.rateLimit(space: self.space, key: key, rule: rule)
        }
    }
}
