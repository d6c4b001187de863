import NIOCore
import NIOEmbedded
import Testing

@testable import StashRedis

@Suite struct RESPDecoderSplitTests {
    @Test(arguments: RESPFixture.all)
    func decodesTheSameWhenSplitAtAnyByte(_ fixture: RESPFixture) throws {
        for split in 0..<fixture.bytes.count {
            var decoder = RESPDecoder()
            var buffer = ByteBuffer(bytes: fixture.bytes[..<split])
            #expect(try decoder.decode(buffer: &buffer) == nil, "split at \(split)")
            #expect(buffer.readerIndex == 0 && buffer.readableBytes == split, "split at \(split) consumed bytes")

            buffer.writeBytes(fixture.bytes[split...])
            let value = try #require(try decoder.decode(buffer: &buffer), "split at \(split)")
            #expect(value.isEquivalent(to: fixture.expected), "split at \(split): \(value)")
            #expect(buffer.readableBytes == 0)
        }
    }

    @Test func decodesValuesBackToBackOneAtATime() throws {
        var decoder = RESPDecoder()
        var buffer = ByteBuffer(bytes: RESPFixture.all.flatMap(\.bytes))
        for fixture in RESPFixture.all {
            let before = buffer.readableBytes
            let value = try #require(try decoder.decode(buffer: &buffer), "\(fixture.name)")
            #expect(value.isEquivalent(to: fixture.expected), "\(fixture.name): \(value)")
            #expect(before - buffer.readableBytes == fixture.bytes.count, "\(fixture.name) consumed a wrong number of bytes")
        }
        #expect(try decoder.decode(buffer: &buffer) == nil)
        #expect(buffer.readableBytes == 0)
    }

    @Test func largeBulkStringArrivingInChunksDecodesOnceComplete() throws {
        let payload = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        var wire = ByteBuffer(string: "$\(payload.count)\r\n")
        wire.writeBytes(payload)
        wire.writeString("\r\n")

        var decoder = RESPDecoder()
        var buffer = ByteBuffer()
        var value: RESPValue?
        while value == nil, wire.readableBytes > 0 {
            let chunk = wire.readSlice(length: min(4096, wire.readableBytes))!
            buffer.writeImmutableBuffer(chunk)
            value = try decoder.decode(buffer: &buffer)
            #expect(value != nil || buffer.readerIndex == 0)
        }
        #expect(wire.readableBytes == 0)
        #expect(value?.stringBytes?.readableBytes == payload.count)
        #expect(value == .bulkString(ByteBuffer(bytes: payload)))
    }

    @Test func byteToMessageHandlerDeliversEveryReplyFedOneByteAtATime() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(RESPDecoder()))
        for byte in RESPFixture.all.flatMap(\.bytes) {
            try channel.writeInbound(ByteBuffer(bytes: [byte]))
        }
        var decoded: [RESPValue] = []
        while let value = try channel.readInbound(as: RESPValue.self) {
            decoded.append(value)
        }
        #expect(decoded.count == RESPFixture.all.count)
        for (value, fixture) in zip(decoded, RESPFixture.all) {
            #expect(value.isEquivalent(to: fixture.expected), "\(fixture.name): \(value)")
        }
        #expect(try channel.finish().isClean)
    }

    @Test func byteToMessageHandlerReportsMalformedInput() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(RESPDecoder()))
        #expect(throws: RESPProtocolError.self) {
            try channel.writeInbound(ByteBuffer(string: "+OK\r\n?garbage\r\n"))
        }
        #expect(try channel.readInbound(as: RESPValue.self) == .simple("OK"))
        _ = try? channel.finish()
    }
}
