import Foundation
import NIOCore
import NIOFoundationCompat
import Testing

@testable import StashMiddleware

/// The direct path of session values writes exactly what Foundation's JSONEncoder writes, and reads what its
/// JSONDecoder reads, for every value it takes; the rest goes through Foundation.
@Suite struct SessionValueCodingTests {
    static func foundation<Value: Encodable>(_ value: Value) throws -> ByteBuffer {
        try JSONEncoder().encodeAsByteBuffer(value, allocator: ByteBufferAllocator())
    }

    @Test(arguments: [0, 1, -1, 7, 42, -1_234_567, Int.max, Int.min, 1_000_000_000_000])
    func integersEncodeAsFoundationDoesAndRoundTrip(_ value: Int) throws {
        let encoded = try SessionValueCoding.encode(value)
        #expect(encoded == (try Self.foundation(value)))
        #expect(try SessionValueCoding.decode(Int.self, from: encoded) == value)
    }

    @Test(arguments: ["", "ada", "Ada Lovelace", "é 🗝 中文", "a/b", "quote \" inside", "back\\slash", "tab\there", "nul\u{0}", "\u{1F}"])
    func stringsEncodeAsFoundationDoesAndRoundTrip(_ value: String) throws {
        let encoded = try SessionValueCoding.encode(value)
        #expect(encoded == (try Self.foundation(value)), "\(value.debugDescription)")
        #expect(try SessionValueCoding.decode(String.self, from: encoded) == value)
    }

    @Test(arguments: [true, false])
    func booleansEncodeAsFoundationDoesAndRoundTrip(_ value: Bool) throws {
        let encoded = try SessionValueCoding.encode(value)
        #expect(encoded == (try Self.foundation(value)))
        #expect(try SessionValueCoding.decode(Bool.self, from: encoded) == value)
    }

    @Test func jsonTheDirectPathDoesNotTakeIsReadByFoundation() throws {
        #expect(try SessionValueCoding.decode(Int.self, from: ByteBuffer(string: " 12 ")) == 12)
        #expect(try SessionValueCoding.decode(Int.self, from: ByteBuffer(string: "1e2")) == 100)
        #expect(try SessionValueCoding.decode(String.self, from: ByteBuffer(string: #""a\/b\n""#)) == "a/b\n")
        #expect(try SessionValueCoding.decode(String.self, from: ByteBuffer(string: #""\u00e9""#)) == "é")
        #expect(try SessionValueCoding.decode(Bool.self, from: ByteBuffer(string: " true")) == true)
    }

    @Test func whatIsNotTheTypeAskedForFailsAsFoundationFails() {
        for json in ["", "-", "01", "12a", "99999999999999999999", "\"12\"", "true", "1.5"] {
            #expect(throws: (any Error).self, "\(json)") { try SessionValueCoding.decode(Int.self, from: ByteBuffer(string: json)) }
        }
        for json in ["", "\"", "ada", "12", "\"unterminated"] {
            #expect(throws: (any Error).self, "\(json)") { try SessionValueCoding.decode(String.self, from: ByteBuffer(string: json)) }
        }
        // Not UTF-8 inside the quotes.
        #expect(throws: (any Error).self) { try SessionValueCoding.decode(String.self, from: ByteBuffer(bytes: [0x22, 0xFF, 0x22])) }
        #expect(throws: (any Error).self) { try SessionValueCoding.decode(Bool.self, from: ByteBuffer(string: "1")) }
    }
}
