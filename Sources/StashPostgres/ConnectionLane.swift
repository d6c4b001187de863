import NIOCore
import PostgresNIO
import Synchronization

/// A connection the store keeps leased from the pool while it runs, on which the single statements of any number of
/// operations queue one after another (postgres-nio runs a connection's statements in order).
///
/// Sharing a connection saves each operation a lease from the pool, and a timer of its own: the lane's watch (see
/// ``ConnectionLanes``) checks the oldest statement in flight against its deadline, and closes the connection when it
/// is overdue, which fails every statement on it. Only single statements run here: a transaction needs a connection
/// to itself.
///
/// A statement that waits on the server (for a row another session has locked, say) holds up the statements queued
/// behind it on its connection. So a lane that has statements in flight and has finished none for
/// ``stallThreshold`` is *stalled*: new operations go to the lanes that move (see ``ConnectionLanes``).
final class ConnectionLane: Sendable {
    let connection: PostgresConnection
    private let state = Mutex(State())

    private struct State {
        var open = true
        var expired = false
        var nextID: UInt64 = 0
        /// The operations in flight, oldest first, with their deadlines.
        var inFlight: [(id: UInt64, deadline: ContinuousClock.Instant)] = []
        /// When an operation last finished, or started on the idle lane.
        var progressed = ContinuousClock.now
    }

    /// How long a lane with operations in flight may finish none before it counts as stalled. A statement of the store
    /// takes well under a millisecond on a healthy server, so a lane this slow is waiting on something.
    static let stallThreshold = Duration.milliseconds(20)

    init(connection: PostgresConnection) {
        self.connection = connection
    }

    /// How busy the lane is, when it takes new operations.
    enum Load {
        /// Open, with this many operations in flight, the oldest of them waiting for `stalledFor` (zero when the lane
        /// has finished one within ``ConnectionLane/stallThreshold``, or has none in flight).
        case open(inFlight: Int, stalledFor: Duration)
        /// Closed, or closing.
        case closed
    }

    func load(now: ContinuousClock.Instant) -> Load {
        let load = self.state.withLock { state -> Load in
            guard state.open else { return .closed }
            let waiting = state.inFlight.isEmpty ? .zero : now - state.progressed
            return .open(inFlight: state.inFlight.count, stalledFor: waiting > Self.stallThreshold ? waiting : .zero)
        }
        if case .open = load, self.connection.isClosed { return .closed }
        return load
    }

    /// Runs one operation on the lane's connection, before `deadline`.
    /// - Returns: `nil` when the lane closed before the operation could start on it, or its connection was closed
    ///   before the statement reached it: the caller runs it elsewhere.
    /// - Throws: ``PostgresStorage/DeadlineExceeded`` when the lane was closed because a statement on it, this one or
    ///   one before it, outlived its deadline; otherwise what the operation threw.
    func run<Result: Sendable>(
        before deadline: ContinuousClock.Instant,
        _ operation: (PostgresConnection) async throws -> Result
    ) async throws -> Result? {
        let id = self.state.withLock { state -> UInt64? in
            guard state.open else { return nil }
            if state.inFlight.isEmpty { state.progressed = .now }
            state.nextID += 1
            state.inFlight.append((state.nextID, deadline))
            return state.nextID
        }
        guard let id else { return nil }
        defer {
            self.state.withLock { state in
                if let index = state.inFlight.firstIndex(where: { $0.id == id }) {
                    state.inFlight.remove(at: index)
                }
                state.progressed = .now
            }
        }
        do {
            return try await operation(self.connection)
        } catch {
            if self.state.withLock({ $0.expired }) { throw PostgresStorage.DeadlineExceeded() }
            // The connection is closing (after a statement it failed to prepare, or the server's close): the statement
            // never reached it, so it can run elsewhere.
            if error is PostgresStorage.ConnectionClosed { return nil }
            throw error
        }
    }

    /// Stops new operations from starting on the lane.
    func retire() {
        self.state.withLock { $0.open = false }
    }

    /// Whether operations are still in flight.
    var isBusy: Bool {
        self.state.withLock { !$0.inFlight.isEmpty }
    }

    /// Closes the connection when the oldest operation in flight has passed its deadline.
    /// - Returns: `true` when it did.
    func expireOverdue(now: ContinuousClock.Instant) -> Bool {
        let overdue = self.state.withLock { state -> Bool in
            guard let oldest = state.inFlight.first, oldest.deadline <= now else { return false }
            state.open = false
            state.expired = true
            return true
        }
        if overdue {
            let _: EventLoopFuture<Void> = self.connection.close()
        }
        return overdue
    }
}
