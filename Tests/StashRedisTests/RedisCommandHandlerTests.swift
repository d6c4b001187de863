import NIOCore
import NIOEmbedded
import Stash
import Testing

@testable import StashRedis

/// The command handler on an `EmbeddedChannel`: replies matched to commands in order, pipelined writes, pushes,
/// timeouts and a peer that goes away, with the event loop's own clock and no server.
@Suite struct RedisCommandHandlerTests {
    /// A channel with the decoder and the handler, as a connection has them.
    static func channel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers(ByteToMessageHandler(RESPDecoder()), RedisCommandHandler(address: "redis.test:6379"))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 6379)).wait()
        return channel
    }

    /// Sends a command through the channel; its reply (or failure) completes the returned future.
    static func send(_ text: String, on channel: EmbeddedChannel, timeout: TimeAmount = .seconds(5)) -> EventLoopFuture<RESPValue> {
        let reply = channel.eventLoop.makePromise(of: RESPValue.self)
        let request = RedisRequest(command: ByteBuffer(string: text), reply: reply, deadline: channel.embeddedEventLoop.now + timeout)
        channel.write(request, promise: nil)
        return reply.futureResult
    }

    /// The result of a completed future; `nil` while it has not completed.
    static func result(_ future: EventLoopFuture<RESPValue>) -> Result<RESPValue, any Error>? {
        var result: Result<RESPValue, any Error>?
        future.whenComplete { result = $0 }
        return result
    }

    static func failure(_ future: EventLoopFuture<RESPValue>) -> StoreError? {
        guard case .failure(let error) = Self.result(future) else { return nil }
        return error as? StoreError
    }

    @Test func commandsSentTogetherLeaveInOneFlushAndRepliesAnswerThemInOrder() throws {
        let channel = try Self.channel()
        // Closed at the end, so the pipeline lets go of its handlers (an open one is a reference cycle).
        defer { _ = try? channel.finish(acceptAlreadyClosed: true) }
        let first = Self.send("GET a\r\n", on: channel)
        let second = Self.send("GET b\r\n", on: channel)
        let third = Self.send("GET c\r\n", on: channel)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil, "nothing is flushed before the loop's tick ends")
        channel.embeddedEventLoop.run()
        let written = try channel.readOutbound(as: ByteBuffer.self)
        #expect(written.map { String(buffer: $0) } == "GET a\r\nGET b\r\nGET c\r\n", "one buffer: over TLS, one record")
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)

        try channel.writeInbound(ByteBuffer(string: "+A\r\n:2\r\n$1\r"))
        guard case .success(.simpleString(let a)) = Self.result(first), case .success(.integer(2)) = Self.result(second) else {
            Issue.record("the first two replies answer the first two commands")
            return
        }
        #expect(String(buffer: a) == "A")
        #expect(Self.result(third) == nil, "a reply split across reads waits for the rest")
        try channel.writeInbound(ByteBuffer(string: "\nc\r\n"))
        guard case .success(.bulkString(let c)) = Self.result(third) else {
            Issue.record("the third reply")
            return
        }
        #expect(String(buffer: c) == "c")
        #expect(channel.isActive)
    }

    @Test func aLargeCommandLeavesUncopiedBetweenTheBatchesAroundItInOrder() throws {
        let channel = try Self.channel()
        defer { _ = try? channel.finish(acceptAlreadyClosed: true) }
        let large = String(repeating: "x", count: 20_000)
        _ = Self.send("GET a\r\n", on: channel)
        _ = Self.send("GET b\r\n", on: channel)
        _ = Self.send("SET k \(large)\r\n", on: channel)
        _ = Self.send("GET c\r\n", on: channel)
        channel.embeddedEventLoop.run()
        var parts: [String] = []
        while let part = try channel.readOutbound(as: ByteBuffer.self) { parts.append(String(buffer: part)) }
        #expect(parts == ["GET a\r\nGET b\r\n", "SET k \(large)\r\n", "GET c\r\n"])
        // The next tick starts a new batch.
        _ = Self.send("GET d\r\n", on: channel)
        channel.embeddedEventLoop.run()
        #expect(try channel.readOutbound(as: ByteBuffer.self).map { String(buffer: $0) } == "GET d\r\n")
    }

    @Test func aPushBetweenRepliesIsNotTakenForOne() throws {
        let channel = try Self.channel()
        defer { _ = try? channel.finish(acceptAlreadyClosed: true) }
        let first = Self.send("GET a\r\n", on: channel)
        let second = Self.send("GET b\r\n", on: channel)
        channel.embeddedEventLoop.run()
        try channel.writeInbound(ByteBuffer(string: ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\na\r\n:1\r\n>2\r\n$7\r\nmessage\r\n$1\r\nx\r\n:2\r\n"))
        guard case .success(.integer(1)) = Self.result(first), case .success(.integer(2)) = Self.result(second) else {
            Issue.record("pushes are skipped: \(String(describing: Self.result(first))) \(String(describing: Self.result(second)))")
            return
        }
    }

    @Test func aLateReplyClosesTheConnectionAndFailsEveryPendingCommand() throws {
        let channel = try Self.channel()
        defer { _ = try? channel.finish(acceptAlreadyClosed: true) }
        let slow = Self.send("BLPOP q 0\r\n", on: channel, timeout: .seconds(1))
        let behind = Self.send("GET b\r\n", on: channel, timeout: .seconds(5))
        channel.embeddedEventLoop.run()
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(999))
        #expect(Self.result(slow) == nil && channel.isActive, "not yet")
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(Self.failure(slow)?.code == .timedOut)
        #expect(Self.failure(behind)?.code == .unavailable, "a command behind it can never get its own reply")
        #expect(!channel.isActive, "the connection closes: a reply that comes later could only be matched wrongly")
    }

    @Test func theTimerMovesOnToTheNextCommandWhenOneIsAnswered() throws {
        let channel = try Self.channel()
        defer { _ = try? channel.finish(acceptAlreadyClosed: true) }
        let first = Self.send("GET a\r\n", on: channel, timeout: .seconds(1))
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(500))
        let second = Self.send("GET b\r\n", on: channel, timeout: .seconds(1))
        try channel.writeInbound(ByteBuffer(string: ":1\r\n"))
        #expect(Self.result(first) != nil)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(600))
        #expect(Self.result(second) == nil && channel.isActive, "the second command has 400 ms left")
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(400))
        #expect(Self.failure(second)?.code == .timedOut)
    }

    @Test func aPeerThatClosesMidReplyFailsThePendingCommands() throws {
        let channel = try Self.channel()
        defer { _ = try? channel.finish(acceptAlreadyClosed: true) }
        let first = Self.send("GET a\r\n", on: channel)
        let second = Self.send("GET b\r\n", on: channel)
        channel.embeddedEventLoop.run()
        try channel.writeInbound(ByteBuffer(string: "$5\r\nab"))
        channel.pipeline.fireChannelInactive()
        #expect(Self.failure(first)?.code == .unavailable)
        #expect(Self.failure(second)?.code == .unavailable)
    }

    @Test func aReplyNobodyAskedForOrBrokenBytesCloseTheConnection() throws {
        let unsolicited = try Self.channel()
        defer { _ = try? unsolicited.finish(acceptAlreadyClosed: true) }
        try unsolicited.writeInbound(ByteBuffer(string: "+OK\r\n"))
        #expect(!unsolicited.isActive)
        #expect(Self.failure(Self.send("GET a\r\n", on: unsolicited))?.code == .protocolError)

        let broken = try Self.channel()
        defer { _ = try? broken.finish(acceptAlreadyClosed: true) }
        let pending = Self.send("GET a\r\n", on: broken)
        broken.embeddedEventLoop.run()
        // The decoder's error reaches the handler, which fails the command and closes; nothing is rethrown.
        try broken.writeInbound(ByteBuffer(string: "?what\r\n"))
        #expect(Self.failure(pending)?.code == .protocolError)
        #expect(!broken.isActive)
    }

    @Test func aConnectionClosedWhenIdleWaitsForTheCommandsInFlight() throws {
        let channel = try Self.channel()
        defer { _ = try? channel.finish(acceptAlreadyClosed: true) }
        let connection = RedisConnection(channel: channel, commandTimeout: .seconds(5))
        let first = connection.send(["GET", "a"])
        let second = connection.send(["GET", "b"])
        channel.embeddedEventLoop.run()
        #expect(connection.pendingCount == 2)
        connection.closeWhenIdle()
        #expect(channel.isActive, "two commands are still in flight")
        try channel.writeInbound(ByteBuffer(string: ":1\r\n"))
        #expect(Self.result(first) != nil && channel.isActive && connection.pendingCount == 1)
        try channel.writeInbound(ByteBuffer(string: ":2\r\n"))
        guard case .success(.integer(2)) = Self.result(second) else {
            Issue.record("the last reply arrives before the close")
            return
        }
        channel.embeddedEventLoop.run()
        #expect(!channel.isActive, "closed once the last reply came")

        let idle = try Self.channel()
        defer { _ = try? idle.finish(acceptAlreadyClosed: true) }
        RedisConnection(channel: idle, commandTimeout: .seconds(5)).closeWhenIdle()
        channel.embeddedEventLoop.run()
        #expect(!idle.isActive, "a connection with nothing in flight closes at once")
    }
}
