public import Stash

/// A clock that moves only when a test advances it, so expiry is tested without sleeping.
///
/// Its instants are wall-clock instants, so it drives every built-in store: ``/Stash/MemoryStore`` and the
/// stores that write absolute expiry times (``/Stash/FileStore``). Sleepers (a store's sweep loop) wake when the
/// clock is advanced past their deadline.
public final class ManualClock: Clock, Sendable {
    /// A wall-clock instant, as the built-in stores' clocks have.
    public typealias Instant = WallClock.Instant
    /// The standard library's duration.
    public typealias Duration = Swift.Duration

    private struct Sleeper {
        var deadline: Instant
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now: Instant
        var sleepers: [UInt64: Sleeper] = [:]
        var cancelled: Set<UInt64> = []
        var lastID: UInt64 = 0
    }

    private let state: Locked<State>

    /// Creates a clock reading a given instant; by default the current wall-clock time, so that expiry times a
    /// store writes are realistic.
    public init(now: Instant = WallClock().now) {
        self.state = Locked(State(now: now))
    }

    /// The clock's reading: where the last ``advance(by:)`` left it.
    public var now: Instant {
        self.state.withLock { $0.now }
    }

    /// One nanosecond.
    public var minimumResolution: Duration { .nanoseconds(1) }

    /// The number of tasks sleeping on this clock: a test waits for it to know that a background loop is idle.
    public var sleeperCount: Int {
        self.state.withLock { $0.sleepers.count }
    }

    /// Moves the clock forward and wakes every sleeper whose deadline has come.
    public func advance(by duration: Duration) {
        precondition(duration >= .zero, "a manual clock only moves forward")
        let woken = self.state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            state.now = state.now.advanced(by: duration)
            let now = state.now
            let due = state.sleepers.filter { $0.value.deadline <= now }
            for id in due.keys { state.sleepers[id] = nil }
            return due.values.sorted { $0.deadline < $1.deadline }.map(\.continuation)
        }
        for continuation in woken { continuation.resume() }
    }

    /// Suspends until the clock is advanced to or past the deadline (at once when it already is).
    /// - Throws: `CancellationError` when the task is cancelled first.
    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        let id = self.state.withLock { state -> UInt64 in
            state.lastID += 1
            return state.lastID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow: (any Error)?? = self.state.withLock { state in
                    if state.cancelled.remove(id) != nil { return .some(CancellationError()) }
                    if deadline <= state.now { return .some(nil) }
                    state.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    return .none
                }
                switch resumeNow {
                case .some(.some(let error)): continuation.resume(throwing: error)
                case .some(.none): continuation.resume()
                case .none: break
                }
            }
        } onCancel: {
            let sleeper = self.state.withLock { state -> Sleeper? in
                if let sleeper = state.sleepers.removeValue(forKey: id) { return sleeper }
                state.cancelled.insert(id)
                return nil
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }
}
