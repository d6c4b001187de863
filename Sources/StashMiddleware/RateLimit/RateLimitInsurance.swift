import Logging
import Stash
import Synchronization

/// The in-memory limiter a ``RateLimiter`` decides with while its store fails (``RateLimiter/FailureMode/insurance``):
/// a `MemoryStore` of this instance's own, with the same policies and keys.
///
/// The first failure of an outage is logged at warning level, the store's next answer at info level; the limiter
/// counts every decision made here in `stash_rate_limit_insured_total` (by `policy`).
final class RateLimitInsurance: Sendable {
    /// The in-memory store the decisions are made in.
    let store = MemoryStore()
    private let logger: Logger
    /// Whether the store is failing now: set by a failure, cleared by an answer.
    private let insuring = Atomic<Bool>(false)

    init(logger: Logger) {
        self.logger = logger
    }

    /// Whether decisions are being made here (the store's last call failed), for tests.
    var isInsuring: Bool { self.insuring.load(ordering: .relaxed) }

    /// Decides in memory for a policy whose store call failed with `storeError`.
    func decide(_ key: String, rule: RateLimitRule, _ operation: RateLimitOperation, storeError: any Error) async throws -> RateLimitDecision {
        if !self.insuring.exchange(true, ordering: .relaxed) {
            self.logger.warning(
                "rate limit store failed; deciding with this instance's in-memory insurance limiter until it answers again",
                metadata: ["error": "\(storeError)"]
            )
        }
        return try await self.store.rateLimit(key, rule: rule, operation)
    }

    /// The store answered: decisions go back to it.
    func storeAnswered() {
        guard self.insuring.load(ordering: .relaxed), self.insuring.exchange(false, ordering: .relaxed) else { return }
        self.logger.info("rate limit store answers again; the insurance limiter stands down")
    }
}
