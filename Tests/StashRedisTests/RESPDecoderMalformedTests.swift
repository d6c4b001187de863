import NIOCore
import StashTesting
import Testing

@testable import StashRedis

@Suite struct RESPDecoderMalformedTests {
    /// Bytes under test, shown escaped in the test's name.
    struct Wire: Sendable, CustomTestStringConvertible {
        let text: String
        var testDescription: String { self.text.debugDescription }
    }

    static let malformed: [Wire] = [String]([
        // Unknown type bytes.
        "?foo\r\n", "\r\n", "x", "\0", "OK\r\n",
        // Missing or misplaced CRLF.
        "+OK\n", "+OK\rX", "+O\rK\r\n", "-ERR\nx\r\n", ":1\n", "$3\r\nfooXY", "$3\r\nfoo\rX", "$3\r\nfoo\n\r", "$3\nfoo\r\n",
        "!3\r\nERRxy", "=5\r\ntxt:xAB",
        // Lengths and counts.
        "$abc\r\n", "$\r\n", "$-2\r\n", "$-0\r\n", "$+3\r\n", "$ 3\r\n", "$3 \r\n", "$1.0\r\n", "$--1\r\n",
        "*-2\r\n", "*x\r\n", "*\r\n", "%-1\r\n", "~-1\r\n", ">-1\r\n", "|-1\r\n", "!-1\r\n", "=-1\r\n",
        "$99999999999999999999\r\n", "*99999999999999999999\r\n",
        // Streamed strings and aggregates, which Redis never sends.
        "$?\r\n;4\r\nHell\r\n;0\r\n", "*?\r\n:1\r\n.\r\n",
        // Integers.
        ":abc\r\n", ":\r\n", ":-\r\n", ":+\r\n", ":1.5\r\n", ": 1\r\n", ":1 \r\n", ":--1\r\n", ":0x10\r\n",
        ":99999999999999999999\r\n", ":9223372036854775808\r\n", ":-9223372036854775809\r\n",
        // Doubles.
        ",abc\r\n", ",\r\n", ",1.\r\n", ",.5\r\n", ",1e\r\n", ",1e+\r\n", ",1.5x\r\n", ",0x10\r\n", ",--1\r\n", ",infx\r\n",
        ",nanx\r\n", ",nan(\r\n", ", 1\r\n", ",1,5\r\n",
        // Booleans and nulls.
        "#x\r\n", "#\r\n", "#tt\r\n", "#T\r\n", "#1\r\n", "_x\r\n", "_ \r\n",
        // Big numbers.
        "(\r\n", "(-\r\n", "(12a\r\n", "(1.5\r\n", "(+1\r\n", "(--1\r\n", "(1e5\r\n",
        // Verbatim strings without their format and ':'.
        "=3\r\ntxt\r\n", "=0\r\n\r\n", "=15\r\ntxt;Some string\r\n", "=4\r\ntxt \r\n",
        // Malformed elements inside aggregates.
        "*2\r\n:1\r\n:x\r\n", "%1\r\n+key\r\n#x\r\n", "|1\r\n+ttl\r\n:x\r\n:1\r\n", "*1\r\n*1\r\n?\r\n",
        // Lines too long to be a number, even before their CRLF arrives.
        ":" + String(repeating: "1", count: 40), "$" + String(repeating: "1", count: 40) + "\r\n",
        "," + String(repeating: "1", count: 200),
    ]).map(Wire.init)

    @Test(arguments: Self.malformed)
    func malformedInputThrowsAProtocolError(_ wire: Wire) {
        var decoder = RESPDecoder()
        var buffer = ByteBuffer(string: wire.text)
        #expect(throws: RESPProtocolError.self) {
            try decoder.decode(buffer: &buffer)
        }
    }

    @Test func deepNestingIsAnErrorAndQuick() {
        var decoder = RESPDecoder()
        var buffer = ByteBuffer(string: String(repeating: "*1\r\n", count: 10_000) + ":1\r\n")
        let elapsed = ContinuousClock().measure {
            #expect(throws: RESPProtocolError.self) {
                try decoder.decode(buffer: &buffer)
            }
        }
        #expect(elapsed < .seconds(1))

        var oneTooDeep = ByteBuffer(string: String(repeating: "~1\r\n", count: 65) + ":1\r\n")
        #expect(throws: RESPProtocolError.self) {
            try decoder.decode(buffer: &oneTooDeep)
        }
    }

    @Test func deepNestingThroughMapsAndAttributesIsAnError() {
        var decoder = RESPDecoder(limits: .init(maximumDepth: 8))
        var maps = ByteBuffer(string: String(repeating: "%1\r\n+k\r\n", count: 9) + ":1\r\n")
        #expect(throws: RESPProtocolError.self) {
            try decoder.decode(buffer: &maps)
        }
        var attributes = ByteBuffer(string: String(repeating: "|1\r\n+k\r\n", count: 9) + ":1\r\n:2\r\n")
        #expect(throws: RESPProtocolError.self) {
            try decoder.decode(buffer: &attributes)
        }
    }

    @Test func bulkLengthOverTheLimitIsAnErrorBeforeItsBytesArrive() throws {
        var decoder = RESPDecoder()
        var buffer = ByteBuffer(string: "$99999999999\r\n")
        #expect(throws: RESPProtocolError.self) {
            try decoder.decode(buffer: &buffer)
        }

        var small = RESPDecoder(limits: .init(maximumBulkLength: 10))
        var atLimit = ByteBuffer(string: "$10\r\n0123456789\r\n")
        #expect(try small.decode(buffer: &atLimit) == .bulk("0123456789"))
        for wire in ["$11\r\n", "!11\r\n", "=11\r\n", "+" + String(repeating: "x", count: 11), "(" + String(repeating: "1", count: 11)] {
            var overLimit = ByteBuffer(string: wire)
            #expect(throws: RESPProtocolError.self, "\(wire)") {
                try small.decode(buffer: &overLimit)
            }
        }
    }

    @Test func aggregateCountOverTheLimitIsAnError() throws {
        var decoder = RESPDecoder()
        for wire in ["*2147483647\r\n:1\r\n", "*16777217\r\n", "%8388609\r\n", "~16777217\r\n", ">16777217\r\n", "|8388609\r\n"] {
            var buffer = ByteBuffer(string: wire)
            #expect(throws: RESPProtocolError.self, "\(wire)") {
                try decoder.decode(buffer: &buffer)
            }
        }
        var small = RESPDecoder(limits: .init(maximumAggregateCount: 4))
        var atLimit = ByteBuffer(string: "%2\r\n:1\r\n:2\r\n:3\r\n:4\r\n")
        #expect(try small.decode(buffer: &atLimit) == .map([.integer(1), .integer(2), .integer(3), .integer(4)]))
        var overLimit = ByteBuffer(string: "%3\r\n")
        #expect(throws: RESPProtocolError.self) {
            try small.decode(buffer: &overLimit)
        }
    }

    @Test func hugeDeclaredCountWithLittleDataWaitsWithoutReserving() throws {
        // Without a count limit, only the bytes received bound what is reserved: 2³¹ elements would need 64 GiB.
        var decoder = RESPDecoder(limits: .init(maximumAggregateCount: .max))
        for wire in ["*2147483647\r\n:1\r\n:2\r\n", "%2147483647\r\n+a\r\n", "*9223372036854775807\r\n", "%4611686018427387903\r\n"] {
            var buffer = ByteBuffer(string: wire)
            #expect(try decoder.decode(buffer: &buffer) == nil, "\(wire)")
            #expect(buffer.readerIndex == 0)
        }
    }

    @Test func truncatedReplyAtEndOfStreamIsLeftForTheConnection() throws {
        var decoder = RESPDecoder()
        var buffer = ByteBuffer(string: ":1\r\n$5\r\nhel")
        #expect(try decoder.decodeLast(buffer: &buffer, seenEOF: true) == .integer(1))
        #expect(try decoder.decodeLast(buffer: &buffer, seenEOF: true) == nil)
        #expect(buffer.readableBytes == 7)
    }

    /// How random test input is made.
    enum Noise: CaseIterable, Sendable {
        /// Uniformly random bytes.
        case bytes
        /// Random bytes from RESP's type bytes, digits, CR and LF.
        case alphabet
        /// Fragments of valid RESP, concatenated and cut at a random length, some bytes replaced at random.
        case fragments

        static let alphabetBytes = Array("+-:$*_,#!=(%~>|\r\n\r\n0123456789-tfinaTXt.e".utf8)
        static let fragmentBytes = [
            "*2\r\n", "*1\r\n", "*0\r\n", "*-1\r\n", "%1\r\n", "~2\r\n", ">2\r\n", "|1\r\n", ":12\r\n", ":-1\r\n",
            "$3\r\nabc\r\n", "$0\r\n\r\n", "$-1\r\n", "_\r\n", "#t\r\n", ",1.5\r\n", ",-inf\r\n", "=5\r\ntxt:x\r\n",
            "!1\r\nE\r\n", "(-123\r\n", "+OK\r\n", "-ERR x\r\n", "\r\n", "$20\r\n",
        ].map { Array($0.utf8) }

        func buffer(using random: inout some RandomNumberGenerator) -> [UInt8] {
            let length = Int.random(in: 0...64, using: &random)
            switch self {
            case .bytes:
                return (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            case .alphabet:
                return (0..<length).map { _ in Self.alphabetBytes.randomElement(using: &random)! }
            case .fragments:
                var bytes: [UInt8] = []
                while bytes.count < length {
                    bytes += Self.fragmentBytes.randomElement(using: &random)!
                }
                bytes = Array(bytes.prefix(length))
                if !bytes.isEmpty, Bool.random(using: &random) {
                    bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                }
                return bytes
            }
        }
    }

    @Test(arguments: Noise.allCases)
    func randomBytesNeverCrash(noise: Noise) throws {
        var random = SplitMix64(seed: 0x5EED)
        var outcomes = (values: 0, incomplete: 0, errors: 0)
        for _ in 0..<10_000 {
            let bytes = noise.buffer(using: &random)
            var decoder = RESPDecoder(limits: .init(maximumDepth: 4, maximumBulkLength: 16, maximumAggregateCount: 8))
            var buffer = ByteBuffer(bytes: bytes)
            while true {
                let before = buffer.readerIndex
                do {
                    guard let value = try decoder.decode(buffer: &buffer) else {
                        #expect(buffer.readerIndex == before)
                        outcomes.incomplete += 1
                        break
                    }
                    outcomes.values += 1
                    #expect(buffer.readerIndex > before)
                    // A value that decodes whole must be incomplete, never an error, in every prefix of its bytes.
                    let consumed = buffer.readerIndex - before
                    for split in 0..<consumed {
                        var prefix = ByteBuffer(bytes: bytes[before..<(before + split)])
                        #expect(try decoder.decode(buffer: &prefix) == nil, "\(bytes) split at \(split) of \(value)")
                    }
                } catch {
                    #expect(error is RESPProtocolError)
                    outcomes.errors += 1
                    break
                }
            }
        }
        // The loop above met each outcome (whole values only from RESP fragments: noise almost never is one).
        #expect(outcomes.incomplete > 0 && outcomes.errors > 0 && (outcomes.values > 1000 || noise != .fragments), "\(outcomes)")
    }
}
