/// In-process request coalescing: the first miss of a key leads (runs the handler, or the computation), later misses
/// of the same key wait for what the leader shares, and a key being revalidated is revalidated by one request at a
/// time. The response cache's misses and ``ValueCache``'s computations go through it.
///
/// Waiters are continuations in a table guarded by a mutex; the leader resumes them when it finishes, so nothing
/// runs outside the tasks of the requests themselves. A cancelled waiter leaves the table at once and throws
/// `CancellationError`; the leader's cancellation is the leader's business: when it finishes without a result
/// (it threw, or was cancelled), its waiters get `nil` and run their own handlers.
///
/// What a leader shares is `any Sendable`, which each caller casts back to its own type, so that the table is not
/// generic: a generic coalescer, called from another module unspecialized, looked up the metadata of its table's
/// types at run time on every call (in a profile, a tenth of a revalidated cache hit's time). The leader's value is
/// made into an existential only when someone waits for it.
package final class RequestCoalescer: Sendable {
    /// What a request that arrives with a missing key is to do.
    package enum Arrival: Sendable {
        /// Run the handler, then call ``finish(_:sharing:)``.
        case leader
        /// Another request led; this is what it shared (`nil`: nothing, run the handler), of the type its leader
        /// shares.
        case follower((any Sendable)?)
    }

    private struct State {
        var flights: [String: [UInt64: CheckedContinuation<Arrival, any Error>]] = [:]
        var revalidating: Set<String> = []
        /// Waiters that arrived but are not in the table yet, and those of them cancelled in between.
        var arriving: Set<UInt64> = []
        var cancelled: Set<UInt64> = []
        var lastID: UInt64 = 0
    }

    private let state = Locked(State())

    package init() {}

    /// Leads the flight of a key, or waits for its leader's result.
    /// - Throws: `CancellationError` when the waiting task is cancelled.
    package func arrive(_ key: String) async throws -> Arrival {
        let id: UInt64? = self.state.withLock { state in
            guard state.flights[key] != nil else {
                state.flights[key] = [:]
                return nil
            }
            state.lastID += 1
            state.arriving.insert(state.lastID)
            return state.lastID
        }
        guard let id else { return .leader }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Arrival, any Error>) in
                let outcome: Arrival?? = self.state.withLock { state in
                    state.arriving.remove(id)
                    if state.cancelled.remove(id) != nil { return .some(nil) }
                    // The leader finished in between: what it shared is gone, so lead anew.
                    guard state.flights[key] != nil else {
                        state.flights[key] = [:]
                        return .some(.leader)
                    }
                    state.flights[key]?[id] = continuation
                    return .none
                }
                switch outcome {
                case .some(.some(let arrival)): continuation.resume(returning: arrival)
                case .some(.none): continuation.resume(throwing: CancellationError())
                case .none: break
                }
            }
        } onCancel: {
            let waiter = self.state.withLock { state -> CheckedContinuation<Arrival, any Error>? in
                if state.arriving.contains(id) {
                    state.cancelled.insert(id)
                    return nil
                }
                return state.flights[key]?.removeValue(forKey: id)
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// Ends the flight a leader of `key` led, handing `shared` to every waiter (evaluated only when there is one).
    package func finish(_ key: String, sharing shared: @autoclosure () -> (any Sendable)?) {
        let waiters = self.state.withLock { $0.flights.removeValue(forKey: key) } ?? [:]
        guard !waiters.isEmpty else { return }
        let value = shared()
        for waiter in waiters.values {
            waiter.resume(returning: .follower(value))
        }
    }

    /// The number of requests waiting for the leader of a key.
    package func waiterCount(for key: String) -> Int {
        self.state.withLock { $0.flights[key]?.count ?? 0 }
    }

    /// Whether a leader is running the handler for a key.
    package func isInFlight(_ key: String) -> Bool {
        self.state.withLock { $0.flights[key] != nil }
    }

    /// Claims the revalidation of a key.
    /// - Returns: `true` when the caller revalidates (and must call ``endRevalidation(_:)``), `false` when
    ///   another request already does.
    package func beginRevalidation(_ key: String) -> Bool {
        self.state.withLock { $0.revalidating.insert(key).inserted }
    }

    /// Releases the revalidation of a key.
    package func endRevalidation(_ key: String) {
        _ = self.state.withLock { $0.revalidating.remove(key) }
    }
}
