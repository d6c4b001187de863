import NIOCore

/// Parses one RESP value from the front of a buffer, for ``RESPDecoder``.
///
/// It reads from its own copy of the buffer (which shares the storage: nothing is copied), so when a value has not
/// wholly arrived the caller's buffer is untouched and the parser is simply dropped.
struct RESPParser {
    /// The bytes still to parse; its reader index moves past each value parsed.
    private(set) var buffer: ByteBuffer
    private let limits: RESPDecoder.Limits

    /// The longest line holding a length, a count, an integer, a boolean or a null: an `Int64` needs 20 characters.
    private static let maximumNumberLineLength = 32
    /// The longest line holding a double: Redis writes at most 17 significant digits and an exponent.
    private static let maximumDoubleLineLength = 128

    init(buffer: ByteBuffer, limits: RESPDecoder.Limits) {
        self.buffer = buffer
        self.limits = limits
    }

    /// Parses the value at the reader index and moves past it.
    ///
    /// - Parameter depth: How many aggregates enclose the value.
    /// - Returns: The value, or nil when it has not wholly arrived (the reader index is then meaningless).
    mutating func parseValue(depth: Int) throws(RESPProtocolError) -> RESPValue? {
        // Attributes precede the value they describe; they are skipped in a loop, not by recursion, so that a long run
        // of them cannot exhaust the stack.
        while true {
            guard let type = self.buffer.readInteger(as: UInt8.self) else {
                return nil
            }
            switch type {
            case UInt8(ascii: "+"):
                return try self.readLine(maximumLength: self.limits.maximumBulkLength).map(RESPValue.simpleString)
            case UInt8(ascii: "-"):
                return try self.readLine(maximumLength: self.limits.maximumBulkLength).map(RESPValue.simpleError)
            case UInt8(ascii: ":"):
                return try self.readIntegerLine().map(RESPValue.integer)
            case UInt8(ascii: "$"):
                return try self.readBlob(named: "bulk string", allowingNull: true, as: RESPValue.bulkString)
            case UInt8(ascii: "_"):
                return try self.readNull()
            case UInt8(ascii: ","):
                return try self.readDoubleLine().map(RESPValue.double)
            case UInt8(ascii: "#"):
                return try self.readBooleanLine().map(RESPValue.boolean)
            case UInt8(ascii: "!"):
                return try self.readBlob(named: "blob error", allowingNull: false, as: RESPValue.blobError)
            case UInt8(ascii: "="):
                return try self.readBlob(named: "verbatim string", allowingNull: false, as: Self.verbatimString)
            case UInt8(ascii: "("):
                return try self.readBigNumberLine().map(RESPValue.bigNumber)
            case UInt8(ascii: "*"):
                return try self.readAggregate(named: "array", pairs: false, allowingNull: true, depth: depth, as: RESPValue.array)
            case UInt8(ascii: "%"):
                return try self.readAggregate(named: "map", pairs: true, allowingNull: false, depth: depth, as: RESPValue.map)
            case UInt8(ascii: "~"):
                return try self.readAggregate(named: "set", pairs: false, allowingNull: false, depth: depth, as: RESPValue.set)
            case UInt8(ascii: ">"):
                return try self.readAggregate(named: "push", pairs: false, allowingNull: false, depth: depth, as: RESPValue.push)
            case UInt8(ascii: "|"):
                guard try self.readAggregate(named: "attribute", pairs: true, allowingNull: false, depth: depth, as: { _ in .null }) != nil else {
                    return nil
                }
            default:
                throw RESPProtocolError(message: "unknown type byte \(Self.describe(type))")
            }
        }
    }

    // MARK: Aggregates

    /// Reads an aggregate's count and elements.
    ///
    /// - Parameters:
    ///   - pairs: Whether the count is of key-value pairs (maps and attributes) rather than of elements.
    ///   - allowingNull: Whether a count of `-1` is RESP2's null array.
    ///   - depth: How many aggregates enclose this one.
    ///   - makeValue: Makes the value from the elements.
    /// - Returns: The value, `.null` for a null array, or nil when incomplete.
    private mutating func readAggregate(
        named name: String,
        pairs: Bool,
        allowingNull: Bool,
        depth: Int,
        as makeValue: ([RESPValue]) -> RESPValue
    ) throws(RESPProtocolError) -> RESPValue? {
        guard let declared = try self.readLength(of: name, allowingNull: allowingNull) else {
            return nil
        }
        guard let declared else {
            return .null
        }
        let maximum = pairs ? self.limits.maximumAggregateCount / 2 : self.limits.maximumAggregateCount
        guard declared <= maximum else {
            throw RESPProtocolError(
                message: "\(name) of \(declared)\(pairs ? " pairs" : " elements") exceeds the limit of \(self.limits.maximumAggregateCount) elements"
            )
        }
        // Checked before recursing, so that deep nesting is an error rather than a stack overflow.
        guard depth < self.limits.maximumDepth else {
            throw RESPProtocolError(message: "aggregates nested deeper than \(self.limits.maximumDepth)")
        }
        let count = pairs ? declared * 2 : declared
        // Every element takes at least 3 bytes (`_\r\n`): when they cannot all be here yet, do not start, and never
        // reserve more than the bytes received could hold, whatever count the server announced.
        guard count <= self.buffer.readableBytes / 3 else {
            return nil
        }
        var elements: [RESPValue] = []
        elements.reserveCapacity(count)
        for _ in 0..<count {
            guard let element = try self.parseValue(depth: depth + 1) else {
                return nil
            }
            elements.append(element)
        }
        return makeValue(elements)
    }

    // MARK: Blobs

    /// Reads a blob's length and bytes (bulk string, blob error, verbatim string).
    ///
    /// - Parameters:
    ///   - allowingNull: Whether a length of `-1` is RESP2's null bulk string.
    ///   - makeValue: Makes the value from the bytes, or throws when they are not valid for the type.
    /// - Returns: The value, `.null` for a null bulk string, or nil when incomplete.
    private mutating func readBlob(
        named name: String,
        allowingNull: Bool,
        as makeValue: (ByteBuffer) throws(RESPProtocolError) -> RESPValue
    ) throws(RESPProtocolError) -> RESPValue? {
        guard let length = try self.readLength(of: name, allowingNull: allowingNull) else {
            return nil
        }
        guard let length else {
            return .null
        }
        guard length <= self.limits.maximumBulkLength else {
            throw RESPProtocolError(message: "\(name) of \(length) bytes exceeds the limit of \(self.limits.maximumBulkLength) bytes")
        }
        // Counted, not scanned: a large string arriving in many chunks costs one comparison per chunk.
        guard self.buffer.readableBytes >= 2, length <= self.buffer.readableBytes - 2 else {
            return nil
        }
        let bytes = self.buffer.readSlice(length: length)!
        guard self.buffer.readInteger(as: UInt16.self) == 0x0D0A else {
            throw RESPProtocolError(message: "\(name) of \(length) bytes is not followed by CRLF")
        }
        return try makeValue(bytes)
    }

    /// Splits a verbatim string's `xxx:` format off its text.
    private static func verbatimString(_ blob: ByteBuffer) throws(RESPProtocolError) -> RESPValue {
        guard blob.readableBytes >= 4, blob.getInteger(at: blob.readerIndex + 3, as: UInt8.self) == UInt8(ascii: ":") else {
            throw RESPProtocolError(message: "verbatim string without its three-byte format and ':'")
        }
        let format = blob.getSlice(at: blob.readerIndex, length: 3)!
        let text = blob.getSlice(at: blob.readerIndex + 4, length: blob.readableBytes - 4)!
        return .verbatimString(format: format, text)
    }

    // MARK: Lines

    /// Reads the line at the reader index and the CRLF after it.
    ///
    /// - Returns: The line without its CRLF, or nil when the CRLF has not arrived yet.
    /// - Throws: When the line holds a lone CR or LF, or is longer than `maximumLength` (even before it is complete).
    private mutating func readLine(maximumLength: Int) throws(RESPProtocolError) -> ByteBuffer? {
        let maximumLength = max(0, maximumLength)
        let readable = self.buffer.readableBytes
        // The CR may be at most at `maximumLength`; nothing beyond it is looked at.
        let scanned = maximumLength < readable ? maximumLength + 1 : readable
        let end = self.buffer.withUnsafeReadableBytes { bytes in
            bytes[..<scanned].firstIndex { $0 == 0x0D || $0 == 0x0A }
        }
        guard let end else {
            guard readable <= maximumLength else {
                throw RESPProtocolError(message: "line longer than \(maximumLength) bytes")
            }
            return nil
        }
        guard self.buffer.getInteger(at: self.buffer.readerIndex + end, as: UInt8.self) == 0x0D else {
            throw RESPProtocolError(message: "line feed without a carriage return")
        }
        guard end + 1 < readable else {
            return nil
        }
        guard self.buffer.getInteger(at: self.buffer.readerIndex + end + 1, as: UInt8.self) == 0x0A else {
            throw RESPProtocolError(message: "carriage return not followed by a line feed")
        }
        let line = self.buffer.readSlice(length: end)!
        self.buffer.moveReaderIndex(forwardBy: 2)
        return line
    }

    /// Reads the length or count after a blob's or an aggregate's type byte.
    ///
    /// - Returns: nil when incomplete; `.some(nil)` for `-1` where `allowingNull` (RESP2's nulls).
    private mutating func readLength(of name: String, allowingNull: Bool) throws(RESPProtocolError) -> Int?? {
        guard let line = try self.readLine(maximumLength: Self.maximumNumberLineLength) else {
            return nil
        }
        if allowingNull, line.readableBytesView.elementsEqual("-1".utf8) {
            return .some(nil)
        }
        guard let length = RESPNumberParsing.nonNegativeInteger(line) else {
            throw RESPProtocolError(message: "invalid \(name) length \(Self.describe(line))")
        }
        return .some(length)
    }

    private mutating func readIntegerLine() throws(RESPProtocolError) -> Int64? {
        guard let line = try self.readLine(maximumLength: Self.maximumNumberLineLength) else {
            return nil
        }
        guard let value = RESPNumberParsing.integer(line) else {
            throw RESPProtocolError(message: "invalid integer \(Self.describe(line))")
        }
        return value
    }

    private mutating func readDoubleLine() throws(RESPProtocolError) -> Double? {
        guard let line = try self.readLine(maximumLength: Self.maximumDoubleLineLength) else {
            return nil
        }
        guard let value = RESPNumberParsing.double(line) else {
            throw RESPProtocolError(message: "invalid double \(Self.describe(line))")
        }
        return value
    }

    private mutating func readBooleanLine() throws(RESPProtocolError) -> Bool? {
        guard let line = try self.readLine(maximumLength: Self.maximumNumberLineLength) else {
            return nil
        }
        switch line.readableBytes == 1 ? line.getInteger(at: line.readerIndex, as: UInt8.self) : nil {
        case UInt8(ascii: "t"): return true
        case UInt8(ascii: "f"): return false
        default: throw RESPProtocolError(message: "invalid boolean \(Self.describe(line))")
        }
    }

    private mutating func readBigNumberLine() throws(RESPProtocolError) -> ByteBuffer? {
        guard let line = try self.readLine(maximumLength: self.limits.maximumBulkLength) else {
            return nil
        }
        guard RESPNumberParsing.isBigNumber(line) else {
            throw RESPProtocolError(message: "invalid big number \(Self.describe(line))")
        }
        return line
    }

    private mutating func readNull() throws(RESPProtocolError) -> RESPValue? {
        guard let line = try self.readLine(maximumLength: Self.maximumNumberLineLength) else {
            return nil
        }
        guard line.readableBytes == 0 else {
            throw RESPProtocolError(message: "null followed by \(Self.describe(line))")
        }
        return .null
    }

    // MARK: Messages

    private static func describe(_ byte: UInt8) -> String {
        (0x21..<0x7F).contains(byte) ? "'\(UnicodeScalar(byte))'" : "0x" + String(byte, radix: 16, uppercase: true)
    }

    /// The line as it appears in an error message: quoted, and shortened when long.
    private static func describe(_ line: ByteBuffer) -> String {
        var text = String(decoding: line.readableBytesView.prefix(40), as: UTF8.self)
        if line.readableBytes > 40 {
            text += "…"
        }
        return "\"\(text)\""
    }
}
