import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle
import Stash

/// Up to ``RedisConfiguration/maximumConnections`` connections to one server, shared by every task: a command goes
/// to the least busy connection and is pipelined with the others there.
///
/// Connections open lazily (and ``RedisConfiguration/minimumConnections`` of them when the pool runs). A connection
/// that closes is replaced on demand. After a failed attempt a slot waits before trying again, twice as long each
/// time up to ``RedisConfiguration/maximumReconnectDelay``; while every slot waits, commands fail at once with the
/// last connection error (``/Stash/StoreError/Code/unavailable``, or ``/Stash/StoreError/Code/authenticationFailed``
/// for refused credentials) rather than hang.
///
/// Every decision is ``RedisPoolStateMachine``'s, taken under the pool's lock; connecting, resuming the tasks that
/// wait and closing happen after the lock is released.
final class RedisConnectionPool: Sendable {
    /// A task waiting for a connection to open.
    typealias Waiter = CheckedContinuation<RedisConnection, any Error>

    let configuration: RedisConfiguration
    /// The TLS context every connection shares, when the configuration asks for TLS.
    private let tls: NIOSSLContext?
    private let group: any EventLoopGroup
    /// The store's near cache, whose invalidations every connection carries.
    private let nearCache: RedisNearCacheTier?
    private let state: Locked<RedisPoolStateMachine<RedisConnection, Waiter>>

    /// - Parameter tls: The TLS context of every connection, made once from ``RedisConfiguration/tls`` (and shared
    ///   by the pools of a cluster's nodes).
    init(
        configuration: RedisConfiguration,
        tls: NIOSSLContext?,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        nearCache: RedisNearCacheTier? = nil
    ) {
        self.configuration = configuration
        self.tls = tls
        self.group = group
        self.nearCache = nearCache
        self.state = Locked(
            RedisPoolStateMachine(
                maximumConnections: configuration.maximumConnections,
                firstDelay: .nanoseconds(configuration.reconnectDelay.nanosecondsClamped),
                maximumDelay: .nanoseconds(configuration.maximumReconnectDelay.nanosecondsClamped),
                address: configuration.address
            )
        )
    }

    /// Sends a command on the least busy connection, opening one when needed.
    func send(_ arguments: [RESPArgument]) async throws -> RESPValue {
        try await self.connection().send(arguments)
    }

    /// Sends `ASKING` and a command back to back on one connection (a cluster's `ASK` redirection).
    func sendAsking(_ arguments: [RESPArgument]) async throws -> RESPValue {
        try await self.connection().sendAsking(arguments).value()
    }

    /// A connection to send on: the least busy open one; while it is busy and a slot is free, another opens for the
    /// commands that follow. Waits only while a connection opens (bounded by the connect timeout).
    func connection() async throws -> RedisConnection {
        // The common case, an open connection, costs no continuation.
        let now = NIODeadline.now()
        switch self.state.withLock({ $0.lease(nil, now: now) }) {
        case .use(let connection, let open):
            if let open { _ = self.connect(slot: open) }
            return connection
        case .fail(let error):
            throw error
        case .wait:
            break
        }
        return try await withCheckedThrowingContinuation { (waiter: Waiter) in
            let now = NIODeadline.now()
            switch self.state.withLock({ $0.lease(waiter, now: now) }) {
            case .use(let connection, let open):
                if let open { _ = self.connect(slot: open) }
                waiter.resume(returning: connection)
            case .wait(let open):
                if let open { _ = self.connect(slot: open) }
            case .fail(let error):
                waiter.resume(throwing: error)
            }
        }
    }

    /// Connects a slot the state machine chose, and reports how the attempt ended.
    /// - Returns: A future that completes once the outcome has been handled.
    private func connect(slot index: Int) -> EventLoopFuture<Void> {
        RedisConnection.connect(configuration: self.configuration, tls: self.tls, group: self.group, nearCache: self.nearCache).map { connection in
            switch self.state.withLock({ $0.connected(slot: index, connection) }) {
            case .resume(let waiters, let connection, let retire):
                connection.channel.closeFuture.whenComplete { _ in
                    self.state.withLock { $0.closed(slot: index, connection) }
                }
                for waiter in waiters { waiter.resume(returning: connection) }
                if retire { connection.closeWhenIdle() }
            case .closeAndFail(let connection, let waiters, let error):
                connection.close()
                for waiter in waiters { waiter.resume(throwing: error) }
            }
        }.recover { error in
            let storeError =
                error as? StoreError ?? StoreError(.unavailable, "cannot connect to Redis at \(self.address)", underlying: error)
            let now = NIODeadline.now()
            let waiters = self.state.withLock { $0.connectFailed(slot: index, storeError, now: now) }
            for waiter in waiters { waiter.resume(throwing: storeError) }
        }
    }

    private var address: String { self.configuration.address }

    /// Lets the pool use at most `limit` of its connections from now on (at least one); the ones past it close once
    /// the commands sent on them are answered.
    func limit(to limit: Int) {
        let retired = self.state.withLock { $0.limit(to: limit) }
        for connection in retired { connection.closeWhenIdle() }
    }

    /// Opens the minimum connections, waits for graceful shutdown, then closes every connection and refuses new
    /// commands. The store's ``/Stash/StoreService`` runs it, once.
    func run() async throws {
        for _ in 0..<self.configuration.minimumConnections {
            guard let slot = self.state.withLock({ $0.warmUp() }) else { break }
            try? await self.connect(slot: slot).get()
        }
        try? await gracefulShutdown()
        await self.shutDown()
    }

    /// Refuses new commands (they fail with ``/Stash/StoreError/Code/unavailable``), closes every connection once
    /// the commands already sent on it are answered (or time out), and returns when all are closed.
    func shutDown() async {
        let connections = self.state.withLock { $0.shutDown() }
        for connection in connections { connection.closeWhenIdle() }
        for connection in connections { try? await connection.channel.closeFuture.get() }
    }
}

extension RedisConnection: RedisPooledConnection {}
