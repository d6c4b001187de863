import NIOCore
import Stash

/// Matches replies to commands on one connection: a FIFO of promises, because Redis answers in order.
///
/// Writes are flushed once per event-loop tick, so commands that many tasks send at once leave in one write
/// (automatic pipelining). Pushed messages (RESP3 `>`) are not replies and are dropped.
///
/// Time is the event loop's (`EventLoop.now`), so an `EmbeddedEventLoop` drives it in tests.
///
/// Timeouts close the connection: one timer watches the oldest pending command, and when its deadline passes the
/// channel is closed and every pending command fails — the late one with ``Stash/StoreError/Code/timedOut``, the
/// others with ``Stash/StoreError/Code/unavailable``. A reply can then never be matched to the wrong command, and a
/// promise is never completed twice.
final class RedisCommandHandler: ChannelDuplexHandler {
    typealias InboundIn = RESPValue
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private var pending = CircularBuffer<RedisRequest>(initialCapacity: 16)
    private var flushScheduled = false
    private var timer: Scheduled<Void>?
    /// Set once the connection is closing: later commands fail at once with it.
    private var closedWith: StoreError?
    private let address: String

    init(address: String) {
        self.address = address
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = self.unwrapOutboundIn(data)
        if let closedWith = self.closedWith {
            request.reply.fail(closedWith)
            promise?.fail(closedWith)
            return
        }
        self.pending.append(request)
        context.write(self.wrapOutboundOut(request.command), promise: promise)
        if !self.flushScheduled {
            self.flushScheduled = true
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.eventLoop.execute {
                let (handler, context) = bound.value
                handler.flushScheduled = false
                context.flush()
            }
        }
        if self.timer == nil {
            self.scheduleTimer(context: context, at: request.deadline)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let value = self.unwrapInboundIn(data)
        if case .push = value { return }
        guard let request = self.pending.popFirst() else {
            self.close(context: context, StoreError(.protocolError, "Redis at \(self.address) sent a reply nobody asked for"))
            return
        }
        request.reply.succeed(value)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let storeError: StoreError
        if let protocolError = error as? RESPProtocolError {
            storeError = StoreError(.protocolError, "Redis at \(self.address) broke the protocol: \(protocolError.message)", underlying: error)
        } else {
            storeError = StoreError(.unavailable, "the connection to Redis at \(self.address) failed", underlying: error)
        }
        self.close(context: context, storeError)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.failPending(StoreError(.unavailable, "the connection to Redis at \(self.address) closed"), now: context.eventLoop.now)
        context.fireChannelInactive()
    }

    private func scheduleTimer(context: ChannelHandlerContext, at deadline: NIODeadline) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        self.timer = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = bound.value
            handler.timer = nil
            handler.checkDeadlines(context: context)
        }
    }

    private func checkDeadlines(context: ChannelHandlerContext) {
        guard let oldest = self.pending.first else { return }
        if oldest.deadline <= context.eventLoop.now {
            self.close(context: context, StoreError(.unavailable, "the connection to Redis at \(self.address) closed after a command timed out"))
        } else {
            self.scheduleTimer(context: context, at: oldest.deadline)
        }
    }

    private func close(context: ChannelHandlerContext, _ error: StoreError) {
        self.failPending(error, now: context.eventLoop.now)
        context.close(promise: nil)
    }

    private func failPending(_ error: StoreError, now: NIODeadline) {
        if self.closedWith == nil { self.closedWith = error }
        self.timer?.cancel()
        self.timer = nil
        while let request = self.pending.popFirst() {
            if request.deadline <= now {
                request.reply.fail(StoreError(.timedOut, "Redis at \(self.address) did not answer in time"))
            } else {
                request.reply.fail(error)
            }
        }
    }
}
