import Logging
import NIOCore
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// The ``ConnectionLane``s of one store: kept by ``PostgresStore/run()``, handed out in turn to single-statement
/// operations.
final class ConnectionLanes: Sendable {
    private let state = Mutex(State())

    private struct State {
        var lanes: [ConnectionLane] = []
        var next = 0
    }

    /// The next open lane in turn, or `nil` when there is none (the store is not running, or its lanes are
    /// reconnecting): the operation then leases a connection of its own.
    func next() -> ConnectionLane? {
        self.state.withLock { state in
            for _ in 0..<state.lanes.count {
                let lane = state.lanes[state.next % state.lanes.count]
                state.next &+= 1
                if lane.isOpen { return lane }
            }
            return nil
        }
    }

    private func add(_ lane: ConnectionLane) {
        self.state.withLock { $0.lanes.append(lane) }
    }

    private func remove(_ lane: ConnectionLane) {
        self.state.withLock { state in
            state.lanes.removeAll { $0 === lane }
        }
    }

    /// Keeps one lane until graceful shutdown or cancellation: leases a connection, watches the deadlines of the
    /// statements on it, and when it closes (the server went away, or a statement overran) leases another, waiting
    /// longer after each failure to get one, up to 2 s.
    func keepLane(client: PostgresClient, executors: EventLoopExecutors, timeout: Duration, logger: Logger) async {
        await cancelWhenGracefulShutdown {
            await self.keepLaneUntilCancelled(client: client, executors: executors, timeout: timeout, logger: logger)
        }
    }

    private func keepLaneUntilCancelled(client: PostgresClient, executors: EventLoopExecutors, timeout: Duration, logger: Logger) async {
        let interval = Self.watchInterval(timeout: timeout)
        var backoff = Duration.milliseconds(50)
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    let lane = ConnectionLane(connection: connection, executor: executors.executor(for: connection.eventLoop))
                    self.add(lane)
                    await Self.watch(lane, every: interval)
                    self.remove(lane)
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
