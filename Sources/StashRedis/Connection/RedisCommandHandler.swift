import NIOCore
import Stash

/// Matches replies to commands on one connection, as ``RedisCommandStateMachine`` decides: it performs the machine's
/// actions (writes, flushes, the timer, completing and failing the replies' promises) on the channel's event loop.
///
/// Writes are flushed once per event-loop tick, so commands that many tasks send at once leave in one buffer and one
/// write (automatic pipelining). Pushed messages (RESP3 `>`) are not replies: invalidations go to the store's near cache,
/// which also forgets everything when the connection closes; other pushes are dropped. Time is the event loop's
/// (`EventLoop.now`), so an `EmbeddedEventLoop` drives it in tests.
///
/// Timeouts close the connection: one timer watches the oldest pending command, and when its deadline passes the
/// channel is closed and every pending command fails — the late one with ``/Stash/StoreError/Code/timedOut``, the
/// others with ``/Stash/StoreError/Code/unavailable``. A reply can then never be matched to the wrong command, and a
/// promise is never completed twice.
final class RedisCommandHandler: ChannelDuplexHandler {
    typealias InboundIn = RESPValue
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private var state: RedisCommandStateMachine<EventLoopPromise<RESPValue>>
    private var timer: Scheduled<Void>?
    /// The commands written since the last flush, in order, to leave as one buffer.
    private var pendingBytes: ByteBuffer?

    /// The near cache the server's invalidation pushes (and this connection's end) are for, when the store has one.
    private let nearCache: RedisNearCacheTier?

    init(address: String, nearCache: RedisNearCacheTier? = nil) {
        self.state = RedisCommandStateMachine(address: address)
        self.nearCache = nearCache
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = self.unwrapOutboundIn(data)
        switch self.state.write(request.reply, deadline: request.deadline) {
        case .fail(let error):
            request.reply.fail(error)
            promise?.fail(error)
        case .write(let scheduleFlush, let armTimer):
            // The command is the handler's now: if the connection fails before its reply, `channelInactive` fails
            // it with the rest, so the write's promise (which says "never reached the connection") succeeds here.
            promise?.succeed()
            self.batch(request.command, context: context)
            if scheduleFlush {
                let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                context.eventLoop.execute {
                    let (handler, context) = bound.value
                    handler.state.flushed()
                    handler.writeBatch(context: context)
                    context.flush()
                }
            }
            if let armTimer { self.arm(context: context, at: armTimer) }
        }
    }

    /// Adds a command to the bytes the next flush writes. The commands of one tick leave as one buffer, so that over
    /// TLS they are one record the server decrypts and executes at once, not one record (and one server event-loop
    /// turn) per command; a large command is written on its own, uncopied.
    private func batch(_ command: ByteBuffer, context: ChannelHandlerContext) {
        if command.readableBytes >= Self.largeCommand {
            self.writeBatch(context: context)
            context.write(self.wrapOutboundOut(command), promise: nil)
        } else if self.pendingBytes == nil {
            self.pendingBytes = command
        } else {
            self.pendingBytes!.writeImmutableBuffer(command)
            if self.pendingBytes!.readableBytes >= Self.largeCommand { self.writeBatch(context: context) }
        }
    }

    /// Writes the commands batched so far (without flushing).
    private func writeBatch(context: ChannelHandlerContext) {
        guard let bytes = self.pendingBytes else { return }
        self.pendingBytes = nil
        context.write(self.wrapOutboundOut(bytes), promise: nil)
    }

    /// Commands at least this long are not copied into a batch, and a batch this long is written at once.
    private static let largeCommand = 16 * 1024

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let value = self.unwrapInboundIn(data)
        switch self.state.read(value, now: context.eventLoop.now) {
        case .succeed(let reply):
            reply.succeed(value)
        case .ignore:
            if case .push(let items) = value { self.nearCache?.apply(push: items) }
        case .close(let failed):
            self.close(context: context, failing: failed)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let storeError: StoreError
        if let protocolError = error as? RESPProtocolError {
            storeError = StoreError(
                .protocolError,
                "Redis at \(self.state.address) broke the protocol: \(protocolError.message)",
                underlying: error
            )
        } else if let reason = RedisTLS.reason(error) {
            // With TLS 1.3 the server judges the client's certificate after the client's handshake is done: its
            // refusal arrives with the first reply.
            storeError = StoreError(.tlsFailed, "TLS with Redis at \(self.state.address) failed: \(reason)", underlying: error)
        } else {
            storeError = StoreError(.unavailable, "the connection to Redis at \(self.state.address) failed", underlying: error)
        }
        self.close(context: context, failing: self.state.errorCaught(storeError, now: context.eventLoop.now))
    }

    func channelInactive(context: ChannelHandlerContext) {
        // The pushes this connection would have carried are lost: nothing the near cache holds can be trusted.
        self.nearCache?.invalidateAll()
        self.fail(self.state.closed(now: context.eventLoop.now))
        context.fireChannelInactive()
    }

    private func arm(context: ChannelHandlerContext, at deadline: NIODeadline) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        self.timer = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = bound.value
            handler.timer = nil
            switch handler.state.timerFired(now: context.eventLoop.now) {
            case .none:
                break
            case .rearm(let deadline):
                handler.arm(context: context, at: deadline)
            case .close(let failed):
                handler.close(context: context, failing: failed)
            }
        }
    }

    private func close(context: ChannelHandlerContext, failing failed: [(EventLoopPromise<RESPValue>, StoreError)]) {
        self.fail(failed)
        context.close(promise: nil)
    }

    private func fail(_ failed: [(EventLoopPromise<RESPValue>, StoreError)]) {
        self.timer?.cancel()
        self.timer = nil
        for (reply, error) in failed { reply.fail(error) }
    }
}
