extension FileStore {
    /// Decides a rate limit while holding the key's file lock, timed by the store's (wall) clock: atomic across the
    /// tasks and processes sharing the directory.
    public func rateLimit(_ key: String, rule: RateLimitRule, _ operation: RateLimitOperation) async throws -> RateLimitDecision {
        try StoreValidation.validateKey(key)
        try rule.validate(operation)
        let path = self.entryPath(for: key)
        return try await self.performLocked(key: key, path: path) {
            let current = try self.readLocked(key, path: path)
            let now = self.clock.now.sinceEpoch
            let step = rule.decide(state: current?.value, now: now, operation: operation)
            if let newState = step.newState {
                let expiresAt = self.deadline(afterMilliseconds: step.expiresIn.roundedUpToMilliseconds)
                try self.write(FileEntry(key: key, value: newState, expiresAt: expiresAt), to: path)
            }
            return step.decision
        }
    }
}
