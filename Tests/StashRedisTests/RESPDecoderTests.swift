import NIOCore
import Testing

@testable import StashRedis

/// One reply as the server sends it, and the value it must decode to.
struct RESPFixture: Sendable, CustomTestStringConvertible {
    let name: String
    let bytes: [UInt8]
    let expected: RESPValue

    var testDescription: String { self.name }

    init(_ name: String, _ wire: String, _ expected: RESPValue) {
        self.name = name
        self.bytes = Array(wire.utf8)
        self.expected = expected
    }

    /// Every reply type of RESP2 and RESP3.
    static let all: [RESPFixture] = [
        // RESP2
        RESPFixture("simple string", "+OK\r\n", .simple("OK")),
        RESPFixture("empty simple string", "+\r\n", .simple("")),
        RESPFixture("simple error", "-ERR unknown command 'FOO'\r\n", .error("ERR unknown command 'FOO'")),
        RESPFixture("zero", ":0\r\n", .integer(0)),
        RESPFixture("integer", ":42\r\n", .integer(42)),
        RESPFixture("negative integer", ":-42\r\n", .integer(-42)),
        RESPFixture("integer with plus sign", ":+7\r\n", .integer(7)),
        RESPFixture("Int64.max", ":9223372036854775807\r\n", .integer(.max)),
        RESPFixture("Int64.min", ":-9223372036854775808\r\n", .integer(.min)),
        RESPFixture("bulk string", "$3\r\nfoo\r\n", .bulk("foo")),
        RESPFixture("empty bulk string", "$0\r\n\r\n", .bulk("")),
        RESPFixture("bulk string with CRLF and NUL", "$6\r\na\r\nb\0c\r\n", .bulk("a\r\nb\0c")),
        RESPFixture("null bulk string", "$-1\r\n", .null),
        RESPFixture("null array", "*-1\r\n", .null),
        RESPFixture("empty array", "*0\r\n", .array([])),
        RESPFixture("array", "*3\r\n:1\r\n:2\r\n:3\r\n", .array([.integer(1), .integer(2), .integer(3)])),
        RESPFixture(
            "array with null elements",
            "*3\r\n$3\r\nfoo\r\n$-1\r\n$3\r\nbar\r\n",
            .array([.bulk("foo"), .null, .bulk("bar")])
        ),
        RESPFixture(
            "nested arrays",
            "*2\r\n*3\r\n:1\r\n$5\r\nhello\r\n:2\r\n*2\r\n*0\r\n+x\r\n",
            .array([.array([.integer(1), .bulk("hello"), .integer(2)]), .array([.array([]), .simple("x")])])
        ),
        // RESP3
        RESPFixture("null", "_\r\n", .null),
        RESPFixture("double", ",1.5\r\n", .double(1.5)),
        RESPFixture("negative double", ",-0.25\r\n", .double(-0.25)),
        RESPFixture("double without fraction", ",10\r\n", .double(10)),
        RESPFixture("double with exponent", ",1e10\r\n", .double(1e10)),
        RESPFixture("double with signed exponent", ",1.5E-3\r\n", .double(1.5e-3)),
        RESPFixture("infinity", ",inf\r\n", .double(.infinity)),
        RESPFixture("negative infinity", ",-inf\r\n", .double(-.infinity)),
        RESPFixture("not a number", ",nan\r\n", .double(.nan)),
        RESPFixture("true", "#t\r\n", .boolean(true)),
        RESPFixture("false", "#f\r\n", .boolean(false)),
        RESPFixture("blob error", "!21\r\nSYNTAX invalid syntax\r\n", .blobError(ByteBuffer(string: "SYNTAX invalid syntax"))),
        RESPFixture(
            "verbatim string",
            "=15\r\ntxt:Some string\r\n",
            .verbatimString(format: ByteBuffer(string: "txt"), ByteBuffer(string: "Some string"))
        ),
        RESPFixture("empty verbatim string", "=4\r\nmkd:\r\n", .verbatimString(format: ByteBuffer(string: "mkd"), ByteBuffer())),
        RESPFixture(
            "big number",
            "(3492890328409238509324850943850943825024385\r\n",
            .bigNumber(ByteBuffer(string: "3492890328409238509324850943850943825024385"))
        ),
        RESPFixture("negative big number", "(-12345678901234567890\r\n", .bigNumber(ByteBuffer(string: "-12345678901234567890"))),
        RESPFixture(
            "map",
            "%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n",
            .map([.simple("first"), .integer(1), .simple("second"), .integer(2)])
        ),
        RESPFixture("empty map", "%0\r\n", .map([])),
        RESPFixture(
            "set",
            "~5\r\n+orange\r\n+apple\r\n#t\r\n:100\r\n:999\r\n",
            .set([.simple("orange"), .simple("apple"), .boolean(true), .integer(100), .integer(999)])
        ),
        RESPFixture(
            "push",
            ">3\r\n$7\r\nmessage\r\n$11\r\nsomechannel\r\n$19\r\nthis is the message\r\n",
            .push([.bulk("message"), .bulk("somechannel"), .bulk("this is the message")])
        ),
        RESPFixture(
            "attribute before a value",
            "|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n*2\r\n:2039123\r\n:9543892\r\n",
            .array([.integer(2_039_123), .integer(9_543_892)])
        ),
        RESPFixture(
            "attribute inside an array",
            "*3\r\n:1\r\n:2\r\n|1\r\n+ttl\r\n:3600\r\n:3\r\n",
            .array([.integer(1), .integer(2), .integer(3)])
        ),
        RESPFixture(
            "HELLO 3 reply",
            "%3\r\n$6\r\nserver\r\n$5\r\nredis\r\n$5\r\nproto\r\n:3\r\n$7\r\nmodules\r\n*0\r\n",
            .map([.bulk("server"), .bulk("redis"), .bulk("proto"), .integer(3), .bulk("modules"), .array([])])
        ),
    ]
}

extension RESPValue {
    static func simple(_ text: String) -> Self { .simpleString(ByteBuffer(string: text)) }
    static func error(_ text: String) -> Self { .simpleError(ByteBuffer(string: text)) }
    static func bulk(_ text: String) -> Self { .bulkString(ByteBuffer(string: text)) }

    /// Equality where NaN equals NaN, so that a decoded `nan` can be compared with the expected one.
    func isEquivalent(to other: RESPValue) -> Bool {
        switch (self, other) {
        case (.double(let left), .double(let right)) where left.isNaN && right.isNaN:
            true
        case (.array(let left), .array(let right)), (.map(let left), .map(let right)), (.set(let left), .set(let right)),
            (.push(let left), .push(let right)):
            left.count == right.count && zip(left, right).allSatisfy { $0.isEquivalent(to: $1) }
        default:
            self == other
        }
    }
}

@Suite struct RESPDecoderTests {
    @Test(arguments: RESPFixture.all)
    func decodesEveryReplyType(_ fixture: RESPFixture) throws {
        var decoder = RESPDecoder()
        var buffer = ByteBuffer(bytes: fixture.bytes)
        let value = try #require(try decoder.decode(buffer: &buffer))
        #expect(value.isEquivalent(to: fixture.expected), "\(value) is not \(fixture.expected)")
        #expect(buffer.readableBytes == 0)
        #expect(try decoder.decode(buffer: &buffer) == nil)
    }

    @Test func notANumberIsNaN() throws {
        for spelling in ["nan", "-nan", "NAN", "NaN", "nan(0x7ff8)"] {
            var decoder = RESPDecoder()
            var buffer = ByteBuffer(string: ",\(spelling)\r\n")
            let value = try decoder.decode(buffer: &buffer)
            guard case .double(let double) = value else {
                Issue.record("\(spelling) decoded to \(String(describing: value))")
                continue
            }
            #expect(double.isNaN, "\(spelling)")
        }
    }

    @Test func bulkStringSharesTheReceivedStorage() throws {
        var decoder = RESPDecoder()
        var buffer = ByteBuffer(string: "$5\r\nhello\r\n")
        let received = buffer.withUnsafeReadableBytes { $0.baseAddress! }
        let value = try decoder.decode(buffer: &buffer)
        let bytes = try #require(value?.stringBytes)
        let decoded = bytes.withUnsafeReadableBytes { $0.baseAddress! }
        #expect(decoded == received + 4)
        #expect(String(buffer: bytes) == "hello")
    }

    @Test func errorMessageAndStringBytes() {
        #expect(RESPValue.error("ERR wrong number of arguments").errorMessage == "ERR wrong number of arguments")
        #expect(RESPValue.blobError(ByteBuffer(string: "SYNTAX invalid")).errorMessage == "SYNTAX invalid")
        #expect(RESPValue.bulk("x").errorMessage == nil)
        #expect(RESPValue.null.errorMessage == nil)

        #expect(RESPValue.simple("OK").stringBytes == ByteBuffer(string: "OK"))
        #expect(RESPValue.bulk("value").stringBytes == ByteBuffer(string: "value"))
        #expect(RESPValue.verbatimString(format: ByteBuffer(string: "txt"), ByteBuffer(string: "text")).stringBytes == ByteBuffer(string: "text"))
        #expect(RESPValue.error("ERR").stringBytes == nil)
        #expect(RESPValue.integer(1).stringBytes == nil)
        #expect(RESPValue.null.stringBytes == nil)
    }

    @Test func nestingUpToTheLimitDecodes() throws {
        var decoder = RESPDecoder(limits: .init(maximumDepth: 64))
        var buffer = ByteBuffer(string: String(repeating: "*1\r\n", count: 64) + ":7\r\n")
        var value = try #require(try decoder.decode(buffer: &buffer))
        for _ in 0..<64 {
            guard case .array(let elements) = value, elements.count == 1 else {
                Issue.record("expected a one-element array, got \(value)")
                return
            }
            value = elements[0]
        }
        #expect(value == .integer(7))
    }

    @Test func longRunOfAttributesIsSkippedWithoutRecursion() throws {
        var decoder = RESPDecoder()
        var buffer = ByteBuffer(string: String(repeating: "|0\r\n", count: 10_000) + ":1\r\n")
        #expect(try decoder.decode(buffer: &buffer) == .integer(1))
        #expect(buffer.readableBytes == 0)
    }

    @Test func descriptionIsReadable() {
        let value = RESPValue.array([
            .bulk("a\r\n"), .integer(-1), .null, .verbatimString(format: ByteBuffer(string: "txt"), ByteBuffer(string: "x")),
        ])
        #expect(value.description == #"array[bulk("a\x0d\x0a"), integer(-1), null, verbatim("txt", "x")]"#)
    }
}
