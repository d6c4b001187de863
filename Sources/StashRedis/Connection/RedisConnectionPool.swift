import NIOCore
import NIOPosix
import ServiceLifecycle
import Stash
import Synchronization

/// Up to ``RedisConfiguration/maximumConnections`` connections to one server, shared by every task: a command goes
/// to the least busy connection and is pipelined with the others there.
///
/// Connections open lazily (and ``RedisConfiguration/minimumConnections`` of them when the pool runs). A connection
/// that closes is replaced on demand. After a failed attempt a slot waits before trying again, twice as long each
/// time up to ``RedisConfiguration/maximumReconnectDelay``; while every slot waits, commands fail at once with the
/// last connection error (``Stash/StoreError/Code/unavailable``, or ``Stash/StoreError/Code/authenticationFailed``
/// for refused credentials) rather than hang.
final class RedisConnectionPool: Sendable {
    private enum Slot {
        case idle(failures: Int, retryAt: NIODeadline?, lastError: StoreError?)
        case connecting(EventLoopFuture<RedisConnection>)
        case ready(RedisConnection)
    }

    private struct State {
        var slots: [Slot]
        var isShutDown = false
    }

    let configuration: RedisConfiguration
    private let group: any EventLoopGroup
    private let state: Mutex<State>

    init(configuration: RedisConfiguration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.group = group
        self.state = Mutex(
            State(slots: Array(repeating: .idle(failures: 0, retryAt: nil, lastError: nil), count: configuration.maximumConnections))
        )
    }

    private var address: String { "\(self.configuration.host):\(self.configuration.port)" }

    /// Sends a command on the least busy connection, opening one when needed.
    func send(_ arguments: [RESPArgument]) async throws -> RESPValue {
        try await self.connection().send(arguments)
    }

    /// A connection to send on: the least busy open one; while it is busy and a slot is free, another opens for the
    /// commands that follow.
    func connection() async throws -> RedisConnection {
        enum Choice {
            case use(RedisConnection)
            case wait(EventLoopFuture<RedisConnection>)
            case fail(StoreError)
        }
        let choice = self.state.withLock { state -> Choice in
            guard !state.isShutDown else {
                return .fail(StoreError(.unavailable, "the Redis connection pool for \(self.address) has shut down"))
            }
            var best: RedisConnection?
            var connecting: EventLoopFuture<RedisConnection>?
            var openable: Int?
            var lastError: StoreError?
            let now = NIODeadline.now()
            for index in state.slots.indices {
                switch state.slots[index] {
                case .ready(let connection):
                    if connection.isActive {
                        if best == nil || connection.pendingCount < best!.pendingCount { best = connection }
                    } else {
                        state.slots[index] = .idle(failures: 0, retryAt: nil, lastError: nil)
                        if openable == nil { openable = index }
                    }
                case .connecting(let future):
                    if connecting == nil { connecting = future }
                case .idle(_, let retryAt, let error):
                    if retryAt.map({ $0 <= now }) ?? true {
                        if openable == nil { openable = index }
                    } else if lastError == nil {
                        lastError = error
                    }
                }
            }
            if let best {
                // Busy: open another connection for later commands, but do not wait for it.
                if best.pendingCount > 0, connecting == nil, let openable {
                    _ = self.open(slot: openable, in: &state)
                }
                return .use(best)
            }
            if let connecting { return .wait(connecting) }
            if let openable { return .wait(self.open(slot: openable, in: &state)) }
            return .fail(lastError ?? StoreError(.unavailable, "Redis at \(self.address) is unreachable; reconnecting"))
        }
        switch choice {
        case .use(let connection): return connection
        case .wait(let future): return try await future.get()
        case .fail(let error): throw error
        }
    }

    /// Starts connecting a slot; the slot becomes ready, or idle with a back-off, when the attempt ends.
    private func open(slot index: Int, in state: inout State) -> EventLoopFuture<RedisConnection> {
        let failures: Int
        if case .idle(let count, _, _) = state.slots[index] { failures = count } else { failures = 0 }
        let future = RedisConnection.connect(configuration: self.configuration, group: self.group)
        state.slots[index] = .connecting(future)
        future.whenComplete { result in
            switch result {
            case .success(let connection):
                let keep = self.state.withLock { state -> Bool in
                    guard !state.isShutDown else { return false }
                    state.slots[index] = .ready(connection)
                    return true
                }
                guard keep else {
                    connection.close()
                    return
                }
                connection.channel.closeFuture.whenComplete { _ in
                    self.state.withLock { state in
                        if case .ready(let current) = state.slots[index], current === connection {
                            state.slots[index] = .idle(failures: 0, retryAt: nil, lastError: nil)
                        }
                    }
                }
            case .failure(let error):
                let storeError = error as? StoreError ?? StoreError(.unavailable, "cannot connect to Redis at \(self.address)", underlying: error)
                self.state.withLock { state in
                    state.slots[index] = .idle(
                        failures: failures + 1,
                        retryAt: .now() + self.backoff(afterFailures: failures + 1),
                        lastError: storeError
                    )
                }
            }
        }
        return future
    }

    /// The wait after a number of consecutive failures: the first delay, doubled each time, capped.
    private func backoff(afterFailures failures: Int) -> TimeAmount {
        let first = self.configuration.reconnectDelay.nanosecondsClamped
        let maximum = self.configuration.maximumReconnectDelay.nanosecondsClamped
        let exponent = min(failures - 1, 30)
        let (delay, overflow) = first.multipliedReportingOverflow(by: 1 << exponent)
        return .nanoseconds(overflow ? maximum : min(delay, maximum))
    }

    /// Opens the minimum connections, waits for graceful shutdown, then closes every connection and refuses new
    /// commands. The store's ``Stash/StoreService`` runs it, once.
    func run() async throws {
        for _ in 0..<self.configuration.minimumConnections {
            _ = try? await self.warmUp()
        }
        try? await gracefulShutdown()
        await self.shutDown()
    }

    /// Opens one more connection if a slot is free.
    private func warmUp() async throws {
        let future = self.state.withLock { state -> EventLoopFuture<RedisConnection>? in
            guard let index = state.slots.firstIndex(where: { if case .idle = $0 { true } else { false } }) else { return nil }
            return self.open(slot: index, in: &state)
        }
        _ = try await future?.get()
    }

    /// Refuses new commands (they fail with ``Stash/StoreError/Code/unavailable``), closes every connection once
    /// the commands already sent on it are answered (or time out), and returns when all are closed.
    func shutDown() async {
        let connections = self.state.withLock { state -> [RedisConnection] in
            state.isShutDown = true
            return state.slots.compactMap { if case .ready(let connection) = $0 { connection } else { nil } }
        }
        for connection in connections { connection.closeWhenIdle() }
        for connection in connections { try? await connection.channel.closeFuture.get() }
    }
}
