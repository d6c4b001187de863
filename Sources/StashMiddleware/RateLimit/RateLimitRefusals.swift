import Stash

/// The refusals a ``RateLimiter`` remembers (``RateLimiter/Configuration/refusalMemory``): a client refused until a
/// time is refused again, by this instance, without a store round trip until then (rate-limiter-flexible's
/// `inMemoryBlockOnConsumed`).
///
/// Sound because a refused request changes nothing in the store: until the wait the store named ends, it would refuse
/// every request of that client and policy too — unless a reward or a refund lifts the refusal early: one made
/// through this limiter (``RateLimiter/adjust(_:policy:by:rule:)``) forgets the refusal, one made elsewhere takes effect
/// here when the remembered wait ends. Bounded: at most `capacity` clients; when full, a new refusal takes
/// the place of one remembered.
final class RateLimitRefusals: Sendable {
    private struct Refusal {
        var until: WallClock.Instant
        var decision: RateLimitDecision
        var decidedAt: WallClock.Instant
    }

    let capacity: Int
    private let refusals = Locked<[String: Refusal]>([:])

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// The number of refusals remembered, for tests.
    var count: Int { self.refusals.withLock { $0.count } }

    /// The decision that refuses `key` at `now` again, if the store refused it until later: what the store said,
    /// with the time since taken off its waits.
    func refusal(of key: String, at now: WallClock.Instant) -> RateLimitDecision? {
        self.refusals.withLock { refusals in
            guard let refusal = refusals[key] else { return nil }
            guard now < refusal.until else {
                refusals.removeValue(forKey: key)
                return nil
            }
            let elapsed = refusal.decidedAt.duration(to: now)
            var decision = refusal.decision
            decision.remaining = 0
            decision.retryAfter = now.duration(to: refusal.until)
            decision.resetIn = max(decision.resetIn - elapsed, decision.retryAfter ?? .zero)
            return decision
        }
    }

    /// Remembers that the store refused `key` at `now` with `decision`, until its wait ends.
    func remember(_ key: String, _ decision: RateLimitDecision, at now: WallClock.Instant) {
        guard let wait = decision.retryAfter, wait > .zero else { return }
        let refusal = Refusal(until: now.advanced(by: wait), decision: decision, decidedAt: now)
        self.refusals.withLock { refusals in
            // Full: one goes, whichever comes first (an ended one is dropped on its next lookup, or so): forgetting a
            // refusal only costs that client's next request a round trip.
            if refusals[key] == nil, refusals.count >= self.capacity, let any = refusals.first {
                refusals.removeValue(forKey: any.key)
            }
            refusals[key] = refusal
        }
    }

    /// Remembers `decision` for `key` if it refuses with a wait, else forgets any refusal of `key`: what an
    /// adjustment or a block left.
    func update(_ key: String, _ decision: RateLimitDecision, at now: WallClock.Instant) {
        if decision.isAllowed {
            _ = self.refusals.withLock { $0.removeValue(forKey: key) }
        } else {
            self.remember(key, decision, at: now)
        }
    }
}
