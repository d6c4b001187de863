import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Stash
import Synchronization

/// One connection to a Redis server, shared by every task that sends it commands (pipelined).
final class RedisConnection: Sendable {
    let channel: any Channel
    let commandTimeout: TimeAmount
    /// Commands sent and not yet answered: the pool gives new commands to the least busy connection.
    private let inFlight = Atomic<Int>(0)
    /// Set by ``closeWhenIdle()``: the connection closes when its last command is answered.
    private let draining = Atomic<Bool>(false)

    /// Wraps a channel whose pipeline has the decoder and the ``RedisCommandHandler``, after its handshake.
    init(channel: any Channel, commandTimeout: TimeAmount) {
        self.channel = channel
        self.commandTimeout = commandTimeout
    }

    var pendingCount: Int { self.inFlight.load(ordering: .relaxed) }
    var isActive: Bool { self.channel.isActive }

    /// Sends a command; the future completes with the server's reply (an error reply is a value, not a failure).
    func send(_ arguments: [RESPArgument]) -> EventLoopFuture<RESPValue> {
        let (request, written) = self.request(arguments)
        self.channel.write(request, promise: written)
        return request.reply.futureResult
    }

    /// Sends `ASKING` and then a command, back to back on this connection (no other command between them, as a
    /// cluster node needs): the future completes with the command's reply.
    func sendAsking(_ arguments: [RESPArgument]) -> EventLoopFuture<RESPValue> {
        let (asking, askingWritten) = self.request(["ASKING"])
        let (request, written) = self.request(arguments)
        let channel = self.channel
        channel.eventLoop.execute {
            channel.write(asking, promise: askingWritten)
            channel.write(request, promise: written)
        }
        return asking.reply.futureResult.flatMap { reply in
            guard let message = reply.errorMessage else { return request.reply.futureResult }
            return request.reply.futureResult.flatMapThrowing { _ in
                throw StoreError(.serverError, "Redis refused ASKING: \(message)")
            }
        }
    }

    /// A command's request, counted as in flight, and the promise of its write: a channel that closed since it was
    /// chosen has no handler left to fail the command, so the failed write does.
    private func request(_ arguments: [RESPArgument]) -> (RedisRequest, EventLoopPromise<Void>) {
        var command = self.channel.allocator.buffer(capacity: 64)
        RESPCommandEncoder.encode(arguments, into: &command)
        let reply = self.channel.eventLoop.makePromise(of: RESPValue.self)
        self.inFlight.add(1, ordering: .relaxed)
        reply.futureResult.whenComplete { _ in
            if self.inFlight.subtract(1, ordering: .relaxed).newValue == 0, self.draining.load(ordering: .relaxed) {
                self.close()
            }
        }
        let request = RedisRequest(command: command, reply: reply, deadline: self.channel.eventLoop.now + self.commandTimeout)
        let written = self.channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenFailure { error in
            reply.fail(StoreError(.unavailable, Self.notSentMessage, underlying: error))
        }
        return (request, written)
    }

    /// What a command that never left fails with (a cluster router may send it elsewhere).
    static let notSentMessage = "the connection to Redis closed before a command was sent"

    /// Sends a command and waits for its reply.
    func send(_ arguments: [RESPArgument]) async throws -> RESPValue {
        try await self.send(arguments).value()
    }

    func close() {
        self.channel.close(promise: nil)
    }

    /// Closes the connection once every command sent on it has its reply (at once when none is pending); the
    /// command timeout bounds the wait.
    func closeWhenIdle() {
        self.draining.store(true, ordering: .relaxed)
        if self.inFlight.load(ordering: .relaxed) == 0 { self.close() }
    }

    /// Connects, completes the TLS handshake when `tls` is given (within the connect timeout), and performs the Redis
    /// handshake (protocol, authentication, name, database), all on the event loop.
    /// - Parameter nearCache: The store's near cache: the connection turns tracking on, and its invalidation pushes
    ///   (and its end) go to the tier.
    static func connect(
        configuration: RedisConfiguration,
        tls: NIOSSLContext? = nil,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        nearCache: RedisNearCacheTier? = nil
    ) -> EventLoopFuture<RedisConnection> {
        let address = configuration.address
        let timeout = TimeAmount.nanoseconds(configuration.connectTimeout.nanosecondsClamped)
        let hostname = configuration.tls?.hostname(for: configuration.host)
        let loop = group.next()
        let handshake = tls.map { _ in loop.makePromise(of: Void.self) }
        return ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls, let handshake {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: hostname))
                        try channel.pipeline.syncOperations.addHandler(
                            TLSHandshakeHandler(completed: handshake, address: address, timeout: timeout)
                        )
                    }
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(RESPDecoder()),
                        RedisCommandHandler(address: address, nearCache: nearCache)
                    )
                }
            }
            .connect(host: configuration.host, port: configuration.port)
            .flatMapErrorThrowing { error in
                handshake?.fail(error)
                if let error = error as? StoreError { throw error }
                throw StoreError(.unavailable, "cannot connect to Redis at \(address)", underlying: error)
            }
            .flatMap { channel in
                guard let handshake else { return loop.makeSucceededFuture(channel) }
                return handshake.futureResult.map { channel }.flatMapErrorThrowing { error in
                    channel.close(promise: nil)
                    throw error
                }
            }
            .flatMap { channel in
                let connection = RedisConnection(
                    channel: channel,
                    commandTimeout: .nanoseconds(configuration.commandTimeout.nanosecondsClamped)
                )
                return RedisHandshake(configuration: configuration, connection: connection, tracking: nearCache != nil).run()
                    .map { connection }
                    .flatMapErrorThrowing { error in
                        connection.close()
                        throw error
                    }
            }
    }
}

extension Duration {
    /// The duration in whole nanoseconds, saturating at Int64's range.
    var nanosecondsClamped: Int64 {
        let (seconds, attoseconds) = self.components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return seconds < 0 ? .min : .max }
        let (total, overflowAdd) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflowAdd ? (seconds < 0 ? .min : .max) : total
    }
}
