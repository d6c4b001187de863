import Logging
import NIOCore
import PostgresNIO
import ServiceLifecycle
import Stash

/// The ``ConnectionLane``s of one store: kept by its ``PostgresStore/service``, handed out to single-statement operations.
///
/// Kept on top of postgres-nio's pool because leasing a connection from it for each statement costs more than the
/// statement. `scripts/bench-postgres.sh` at 6e2aa20 on the development machine, in one run, a get (hit) at 32 tasks:
/// 43 µs (p50) and 30 mallocs through 8 lanes; postgres-nio alone 50 µs and 59 mallocs leasing from its pool for each
/// statement, 34 µs and 28 mallocs with a connection held per task (the floor, which a store serving any number of
/// tasks cannot hold). With `sharedConnections` 0 (`STASH_BENCH_SHARED_CONNECTIONS=0`, every operation leasing) the
/// store measured 65 µs and 96 mallocs at 1d4c11b. The decisions are ``ConnectionLanesStateMachine``'s.
final class ConnectionLanes: Sendable {
    private let state = Locked(ConnectionLanesStateMachine<ConnectionLane>())

    /// See ``ConnectionLanesStateMachine/bypassThreshold``.
    static var bypassThreshold: Duration { ConnectionLanesStateMachine<ConnectionLane>.bypassThreshold }

    /// What ``lane(before:)`` found.
    enum Choice {
        /// The open lane with the fewest operations in flight.
        case lane(ConnectionLane)
        /// No lane to wait for: the store keeps none (it is not running, or shares no connection), or every open lane
        /// has been stalled for over ``ConnectionLanes/bypassThreshold``. The operation leases a connection of its own.
        case ownConnection
    }

    /// The open lane with the fewest operations in flight, not counting stalled ones (see
    /// ``ConnectionLanesStateMachine/choose(load:)``).
    ///
    /// While the store keeps lanes but none is open (they are connecting, or reconnecting after the server went
    /// away), waits for one until `deadline`, rather than competing with them for the pool's connections.
    /// - Throws: ``PostgresStorage/DeadlineExceeded`` when no lane opened in time; `CancellationError`.
    func lane(before deadline: ContinuousClock.Instant) async throws -> Choice {
        while true {
            let now = ContinuousClock.now
            switch self.state.withLock({ $0.choose { $0.load(now: now) } }) {
            case .lane(let lane):
                return .lane(lane)
            case .ownConnection:
                return .ownConnection
            case .waitForLane:
                // The keepers are leasing connections. Checked again shortly; this only happens while the store
                // starts or reconnects.
                guard ContinuousClock.now < deadline else { throw PostgresStorage.DeadlineExceeded() }
                try await Task.sleep(for: .milliseconds(5))
            }
        }
    }

    /// Keeps `count` lanes until graceful shutdown or cancellation (the store's service calls it, once): each leases a
    /// connection, watches the deadlines of the statements on it, and when it closes (the server went away, or a
    /// statement overran) leases another, waiting longer after each failure to get one, up to 2 s.
    func keep(_ count: Int, client: PostgresClient, timeout: Duration, logger: Logger) async {
        self.state.withLock { $0.startKeeping() }
        defer { self.state.withLock { $0.stopKeeping() } }
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                for _ in 0..<count {
                    group.addTask {
                        await self.keepLane(client: client, timeout: timeout, logger: logger)
                    }
                }
            }
        }
    }

    private func keepLane(client: PostgresClient, timeout: Duration, logger: Logger) async {
        let interval = Self.watchInterval(timeout: timeout)
        var backoff = Duration.milliseconds(50)
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    let lane = ConnectionLane(connection: connection)
                    self.state.withLock { $0.add(lane) }
                    await Self.watch(lane, every: interval)
                    self.state.withLock { $0.remove(lane) }
                    lane.retire()
                    // The statements already queued finish (or overrun and close the connection) before the
                    // connection goes back to the pool.
                    while lane.isBusy, !lane.expireOverdue(now: .now) {
                        try? await Task.sleep(for: interval)
                    }
                }
                backoff = .milliseconds(50)
                // The connection closed: a short pause, so a pool that still hands out a dead one is not asked in
                // a tight loop.
                try? await Task.sleep(for: interval)
            } catch {
                logger.debug("PostgresStore could not lease a shared connection; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(2))
            }
        }
    }

    /// Watches a lane until its connection closes, an operation on it overruns, or the task is cancelled.
    private static func watch(_ lane: ConnectionLane, every interval: Duration) async {
        while !lane.connection.isClosed, !Task.isCancelled {
            do {
                try await Task.sleep(for: interval)
            } catch {
                return
            }
            if lane.expireOverdue(now: .now) { return }
        }
    }

    /// How often a lane's deadlines are checked: a tenth of the timeout, between 1 ms and 100 ms, so an overdue
    /// statement is noticed within a tenth of the timeout (or 100 ms) after it.
    static func watchInterval(timeout: Duration) -> Duration {
        min(max(timeout / 10, .milliseconds(1)), .milliseconds(100))
    }
}
