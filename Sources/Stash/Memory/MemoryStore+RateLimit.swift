extension MemoryStore {
    /// Decides a rate limit under the store's lock, timed by the store's clock and kept in wall-clock time (the
    /// wall-clock time the store was created at, plus the time its clock has counted since): a ``Persister``'s
    /// snapshot loaded after a restart holds limits that mean what they meant, and fixed windows start at multiples
    /// of the window since the Unix epoch, as on every other store.
    public func rateLimit(_ key: String, rule: RateLimitRule, _ operation: RateLimitOperation) async throws -> RateLimitDecision {
        try StoreValidation.validateKey(key)
        try rule.validate(operation)
        return self.storage.state.withLock { state in
            state.rateLimit(space: self.space, key: key, rule: rule, operation: operation)
        }
    }
}
