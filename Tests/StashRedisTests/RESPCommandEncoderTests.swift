import NIOCore
import Testing

@testable import StashRedis

@Suite struct RESPCommandEncoderTests {
    private func encoded(_ arguments: [RESPArgument]) -> [UInt8] {
        var buffer = ByteBuffer()
        RESPCommandEncoder.encode(arguments, into: &buffer)
        return Array(buffer.readableBytesView)
    }

    @Test func setWithExpiryInMilliseconds() {
        #expect(encoded(["SET", "k", "v", "PX", .integer(100)]) == Array("*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n$2\r\nPX\r\n$3\r\n100\r\n".utf8))
    }

    @Test func emptyArgument() {
        #expect(encoded(["GET", ""]) == Array("*2\r\n$3\r\nGET\r\n$0\r\n\r\n".utf8))
    }

    @Test func binaryArgumentWithCRLFInside() {
        let value = ByteBuffer(bytes: [0x61, 0x0D, 0x0A, 0x00, 0xFF])
        #expect(
            encoded(["SET", "k", .bytes(value)]) == Array("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\n".utf8) + [0x61, 0x0D, 0x0A, 0x00, 0xFF, 0x0D, 0x0A]
        )
    }

    @Test func bytesArgumentIsItsReadableBytes() {
        var value = ByteBuffer(string: "skipvalue")
        value.moveReaderIndex(forwardBy: 4)
        #expect(encoded([.bytes(value)]) == Array("*1\r\n$5\r\nvalue\r\n".utf8))
    }

    @Test(arguments: [
        (Int64(0), "0"), (7, "7"), (-1, "-1"), (1_000_000, "1000000"), (.max, "9223372036854775807"), (.min, "-9223372036854775808"),
    ])
    func integerArgumentIsDecimal(_ value: Int64, _ decimal: String) {
        #expect(encoded(["INCRBY", "k", .integer(value)]) == Array("*3\r\n$6\r\nINCRBY\r\n$1\r\nk\r\n$\(decimal.utf8.count)\r\n\(decimal)\r\n".utf8))
    }

    @Test func stringLengthIsInUTF8Bytes() {
        #expect(encoded(["ECHO", "é✓"]) == Array("*2\r\n$4\r\nECHO\r\n$5\r\né✓\r\n".utf8))
    }

    @Test func appendsToWhatTheBufferHolds() {
        var buffer = ByteBuffer()
        RESPCommandEncoder.encode(["PING"], into: &buffer)
        RESPCommandEncoder.encode([], into: &buffer)
        RESPCommandEncoder.encode(["GET", "a"], into: &buffer)
        #expect(String(buffer: buffer) == "*1\r\n$4\r\nPING\r\n*0\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\n")
    }

    @Test func decodingAnEncodedCommandGivesItsArgumentsAsBulkStrings() throws {
        let commands: [[RESPArgument]] = [
            ["PING"],
            [],
            ["SET", "key", .bytes(ByteBuffer(bytes: [0, 13, 10, 255])), "PX", .integer(1500), "NX"],
            ["EVALSHA", "0123456789abcdef0123456789abcdef01234567", .integer(1), "k", .integer(-9), ""],
        ]
        for command in commands {
            var buffer = ByteBuffer()
            RESPCommandEncoder.encode(command, into: &buffer)
            var decoder = RESPDecoder()
            let value = try decoder.decode(buffer: &buffer)
            let expected = command.map { argument -> RESPValue in
                switch argument {
                case .string(let text): .bulk(text)
                case .bytes(let bytes): .bulkString(bytes)
                case .integer(let integer): .bulk(String(integer))
                }
            }
            #expect(value == .array(expected))
            #expect(buffer.readableBytes == 0)
        }
    }
}
