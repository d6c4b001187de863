package import NIOCore

/// Writes commands the way clients send them: a RESP array of bulk strings, one per argument.
package enum RESPCommandEncoder {
    /// Appends one command to `buffer`: `*<count>\r\n`, then `$<length>\r\n<bytes>\r\n` for each argument.
    ///
    /// - Parameters:
    ///   - arguments: The command name and its arguments, in order.
    ///   - buffer: The buffer to append to; what it already holds is kept, so commands can be pipelined into one buffer.
    package static func encode(_ arguments: [RESPArgument], into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "*"))
        buffer.writeRESPDecimal(Int64(arguments.count))
        buffer.writeRESPLineEnd()
        for argument in arguments {
            switch argument {
            case .string(let text):
                buffer.writeRESPBulkHeader(length: text.utf8.count)
                buffer.writeString(text)
            case .bytes(let bytes):
                buffer.writeRESPBulkHeader(length: bytes.readableBytes)
                buffer.writeImmutableBuffer(bytes)
            case .integer(let value):
                buffer.writeRESPBulkHeader(length: ByteBuffer.decimalLength(of: value))
                buffer.writeRESPDecimal(value)
            }
            buffer.writeRESPLineEnd()
        }
    }
}

extension ByteBuffer {
    fileprivate static func decimalLength(of value: Int64) -> Int {
        var magnitude = value.magnitude
        var digits = 1
        while magnitude >= 10 {
            magnitude /= 10
            digits += 1
        }
        return value < 0 ? digits + 1 : digits
    }

    /// Writes `value` in decimal without going through a `String`.
    fileprivate mutating func writeRESPDecimal(_ value: Int64) {
        let length = Self.decimalLength(of: value)
        self.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { bytes in
            var magnitude = value.magnitude
            var index = length
            repeat {
                index -= 1
                bytes[index] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            if value < 0 {
                bytes[0] = UInt8(ascii: "-")
            }
            return length
        }
    }

    fileprivate mutating func writeRESPBulkHeader(length: Int) {
        self.writeInteger(UInt8(ascii: "$"))
        self.writeRESPDecimal(Int64(length))
        self.writeRESPLineEnd()
    }

    fileprivate mutating func writeRESPLineEnd() {
        self.writeInteger(UInt16(0x0D0A))
    }
}
