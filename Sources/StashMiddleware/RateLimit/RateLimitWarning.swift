import Synchronization

/// A warning a ``RateLimiter`` logs once in its life, however many requests show the problem.
final class RateLimitWarning: Sendable {
    private let done = Atomic<Bool>(false)

    /// Whether the warning was given.
    var isDone: Bool { self.done.load(ordering: .relaxed) }

    /// Runs `warn` if no call did before.
    func once(_ warn: () -> Void) {
        if !self.done.exchange(true, ordering: .relaxed) { warn() }
    }
}
