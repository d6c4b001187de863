import NIOCore

extension MemoryState {
    /// Decides a rate limit and stores its new state, all under the storage's lock. The state's times are wall-clock
    /// times (``wallNow``), as every store's are: a snapshot carries them to another process intact.
    mutating func rateLimit(space: Int, key: String, rule: RateLimitRule) -> RateLimitDecision {
        let now = self.now()
        let step = rule.decide(state: self.live(space: space, key: key)?.value, now: .nanoseconds(self.wallOrigin &+ now))
        if let newState = step.newState {
            let expiresAt = now + step.expiresIn.roundedUpToMilliseconds * 1_000_000
            self.set(space: space, key: key, value: newState, expiresAt: expiresAt)
        }
        return step.decision
    }
}
