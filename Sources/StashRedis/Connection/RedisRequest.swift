import NIOCore

/// A command on its way to the server: its encoded bytes and the promise its reply completes.
struct RedisRequest {
    var command: ByteBuffer
    var reply: EventLoopPromise<RESPValue>
    /// When the command fails with ``/Stash/StoreError/Code/timedOut`` if no reply has come.
    var deadline: NIODeadline
}
