import NIOCore
import NIOSSL
import NIOTLS
import Stash

/// Waits for a connection's TLS handshake, after swift-nio-ssl's handler: the promise succeeds when the handshake
/// completes, and fails with ``/Stash/StoreError/Code/tlsFailed`` when it fails, the connection closes first, or it
/// takes longer than the connect timeout (a plain-text server may never answer a TLS hello). It then removes itself.
final class TLSHandshakeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let completed: EventLoopPromise<Void>
    private let address: String
    private let timeout: TimeAmount
    private var timer: Scheduled<Void>?
    private var isDone = false

    init(completed: EventLoopPromise<Void>, address: String, timeout: TimeAmount) {
        self.completed = completed
        self.address = address
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let milliseconds = self.timeout.nanoseconds / 1_000_000
        let channel = context.channel
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        self.timer = context.eventLoop.scheduleTask(in: self.timeout) {
            let handler = loopBound.value
            handler.finish(.failure(handler.failure("no handshake within \(milliseconds) ms; is the port a plain-text one?")))
            channel.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent {
            self.finish(.success(()))
            context.pipeline.syncOperations.removeHandler(self, promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.finish(.failure(self.failure(RedisTLS.reason(error) ?? "\(error)", underlying: error)))
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.finish(.failure(self.failure("the server closed the connection during the handshake")))
        context.fireChannelInactive()
    }

    private func failure(_ reason: String, underlying: (any Error)? = nil) -> StoreError {
        StoreError(.tlsFailed, "TLS with Redis at \(self.address) failed: \(reason)", underlying: underlying)
    }

    private func finish(_ result: Result<Void, any Error>) {
        guard !self.isDone else { return }
        self.isDone = true
        self.timer?.cancel()
        self.completed.completeWith(result)
    }
}
