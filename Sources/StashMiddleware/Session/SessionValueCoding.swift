import Foundation
import NIOCore
import NIOFoundationCompat

/// The JSON of session values: Foundation's `JSONEncoder` and `JSONDecoder`, with a direct path for the values most
/// sessions hold — an `Int`, a `Bool`, a `String` with nothing to escape — that writes the very bytes `JSONEncoder`
/// writes and reads what it reads, at a fraction of the cost. Anything else, or any JSON the direct path does not
/// recognise (whitespace, escapes, an exponent), goes through Foundation, so the result is always the same.
enum SessionValueCoding {
    // Shared: both are Sendable, and making one per value costs allocations on every request.
    private static let decoder = JSONDecoder()
    private static let encoder = JSONEncoder()

    static func encode<Value: Encodable>(_ value: Value) throws -> ByteBuffer {
        if Value.self == Int.self {
            return ByteBuffer(string: String(unsafeBitCast(value, to: Int.self)))
        }
        if Value.self == Bool.self {
            return ByteBuffer(string: unsafeBitCast(value, to: Bool.self) ? "true" : "false")
        }
        if Value.self == String.self, let buffer = Self.plainJSON(unsafeBitCast(value, to: String.self)) {
            return buffer
        }
        return try Self.encoder.encodeAsByteBuffer(value, allocator: ByteBufferAllocator())
    }

    static func decode<Value: Decodable>(_ type: Value.Type, from buffer: ByteBuffer) throws -> Value {
        if Value.self == Int.self, let int = Self.plainInt(buffer) {
            return unsafeBitCast(int, to: Value.self)
        }
        if Value.self == Bool.self, let bool = Self.plainBool(buffer) {
            return unsafeBitCast(bool, to: Value.self)
        }
        if Value.self == String.self, let string = Self.plainString(buffer) {
            return unsafeBitCast(string, to: Value.self)
        }
        return try Self.decoder.decode(type, from: buffer)
    }

    /// A string's JSON when no character needs escaping (JSONEncoder escapes `"`, `\`, `/` and control characters).
    private static func plainJSON(_ string: String) -> ByteBuffer? {
        guard string.utf8.allSatisfy(Self.isPlain) else { return nil }
        var buffer = ByteBufferAllocator().buffer(capacity: string.utf8.count + 2)
        buffer.writeInteger(UInt8(ascii: "\""))
        buffer.writeString(string)
        buffer.writeInteger(UInt8(ascii: "\""))
        return buffer
    }

    private static func isPlain(_ byte: UInt8) -> Bool {
        byte >= 0x20 && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") && byte != UInt8(ascii: "/")
    }

    /// An integer written as JSONEncoder writes one: an optional `-`, then digits without a leading zero.
    private static func plainInt(_ buffer: ByteBuffer) -> Int? {
        buffer.readableBytesView.withContiguousStorageIfAvailable { bytes -> Int? in
            var index = 0
            if bytes.first == UInt8(ascii: "-") { index = 1 }
            guard index < bytes.count, bytes.count - index <= 19 else { return nil }
            if bytes[index] == UInt8(ascii: "0"), bytes.count > index + 1 { return nil }
            var magnitude: UInt64 = 0
            while index < bytes.count {
                let digit = bytes[index] &- UInt8(ascii: "0")
                guard digit <= 9 else { return nil }
                magnitude = magnitude * 10 + UInt64(digit)
                index += 1
            }
            if bytes.first == UInt8(ascii: "-") {
                return magnitude <= UInt64(Int.max) + 1 ? Int(truncatingIfNeeded: 0 &- magnitude) : nil
            }
            return magnitude <= UInt64(Int.max) ? Int(magnitude) : nil
        } ?? nil
    }

    private static func plainBool(_ buffer: ByteBuffer) -> Bool? {
        let bytes = buffer.readableBytesView
        if bytes.elementsEqual("true".utf8) { return true }
        if bytes.elementsEqual("false".utf8) { return false }
        return nil
    }

    /// A JSON string without escapes, whose bytes are valid UTF-8.
    private static func plainString(_ buffer: ByteBuffer) -> String? {
        let bytes = buffer.readableBytesView
        guard bytes.count >= 2, bytes.first == UInt8(ascii: "\""), bytes.last == UInt8(ascii: "\"") else { return nil }
        let inner = bytes.dropFirst().dropLast()
        for byte in inner where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
            return nil
        }
        return String(validating: inner, as: UTF8.self)
    }
}
