import NIOCore
import PostgresNIO
import Stash

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
/// ``ConnectionLaneStateMachine/stallThreshold`` is *stalled*: new operations go to the lanes that move (see ``ConnectionLanes``).
final class ConnectionLane: Sendable {
    let connection: PostgresConnection
    private let state: Locked<ConnectionLaneStateMachine>

    /// See ``ConnectionLaneStateMachine/stallThreshold``.
    static var stallThreshold: Duration { ConnectionLaneStateMachine.stallThreshold }

    init(connection: PostgresConnection) {
        self.connection = connection
        self.state = Locked(ConnectionLaneStateMachine(now: .now))
    }

    /// How busy the lane is: closed as well when its connection has closed.
    func load(now: ContinuousClock.Instant) -> ConnectionLaneStateMachine.Load {
        let load = self.state.withLock { $0.load(now: now) }
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
        guard let id = self.state.withLock({ $0.start(deadline: deadline, now: .now) }) else { return nil }
        defer {
            self.state.withLock { $0.finish(id, now: .now) }
        }
        do {
            return try await operation(self.connection)
        } catch {
            if self.state.withLock({ $0.isExpired }) { throw PostgresStorage.DeadlineExceeded() }
            // The connection is closing (after a statement it failed to prepare, or the server's close): the statement
            // never reached it, so it can run elsewhere.
            if error is PostgresStorage.ConnectionClosed { return nil }
            throw error
        }
    }

    /// Stops new operations from starting on the lane.
    func retire() {
        self.state.withLock { $0.retire() }
    }

    /// Whether operations are still in flight.
    var isBusy: Bool {
        self.state.withLock { $0.isBusy }
    }

    /// Closes the connection when the oldest operation in flight has passed its deadline.
    /// - Returns: `true` when it had.
    func expireOverdue(now: ContinuousClock.Instant) -> Bool {
        switch self.state.withLock({ $0.checkDeadline(now: now) }) {
        case .onTime:
            return false
        case .overdue(let closeConnection):
            if closeConnection {
                let _: EventLoopFuture<Void> = self.connection.close()
            }
            return true
        }
    }
}
