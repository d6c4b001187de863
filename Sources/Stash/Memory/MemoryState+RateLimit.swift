import NIOCore

extension MemoryState {
    /// Decides a rate limit and stores its new state, all under the storage's lock, with one lookup of the key. The
    /// state's times are wall-clock times (``wallNow``), as every store's are: a snapshot carries them to another
    /// process intact. The new state is written over the stored bytes, which are reused unless a reader still holds
    /// them.
    mutating func rateLimit(space: Int, key: String, rule: RateLimitRule, operation: RateLimitOperation) -> RateLimitDecision {
        let now = self.now()
        let index = self.spaces[space].entries.index(forKey: MemoryKey(key))
        let plan: RateLimitRule.Plan
        do {
            // An expired entry is no state; its slot is written over like a live one's.
            let entry = index.map { self.spaces[space].entries.values[$0] }
            let state = entry.flatMap { entry in entry.expiresAt.map { now >= $0 } == true ? nil : entry.value }
            plan = rule.plan(state: state, now: .nanoseconds(self.wallOrigin &+ now), operation: operation)
        }
        guard let newState = plan.newState else { return plan.decision }
        let expiresAt = now + plan.expiresIn.roundedUpToMilliseconds * 1_000_000
        if let index {
            self.rewrite(space: space, at: index, expiresAt: expiresAt) { stored in
                stored.clear()
                newState.write(into: &stored)
            }
        } else {
            self.set(space: space, key: key, value: newState.encoded(), expiresAt: expiresAt)
        }
        return plan.decision
    }
}
