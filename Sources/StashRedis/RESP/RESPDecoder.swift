package import NIOCore

/// Decodes RESP2 and RESP3 replies from the server, one top-level value at a time, for NIO's `ByteToMessageHandler`.
///
/// The decoder consumes nothing until a whole top-level value has arrived, so a value split at any byte decodes the
/// same as one received whole. A partly received aggregate is parsed again from its start when more bytes arrive; its
/// elements are cheap to parse again (a bulk string is skipped by its length, never rescanned), and an aggregate whose
/// declared count cannot fit in the bytes received so far is not parsed at all.
///
/// Malformed input throws ``RESPProtocolError``; after one, the stream cannot be trusted and the connection is closed.
package struct RESPDecoder: NIOSingleStepByteToMessageDecoder {
    /// The decoded value: a reply, or a message the server pushed.
    package typealias InboundOut = RESPValue

    /// The bounds the decoder enforces before it waits for, or allocates for, what a server announces.
    package let limits: Limits

    /// Creates a decoder.
    ///
    /// - Parameter limits: The bounds on nesting, string lengths and element counts.
    package init(limits: Limits = .init()) {
        self.limits = limits
    }

    /// Decodes the value at the start of `buffer`, consuming its bytes.
    ///
    /// - Returns: The value, or nil when it has not wholly arrived yet; nothing is consumed then.
    /// - Throws: ``RESPProtocolError`` when the bytes are not RESP or exceed ``limits``.
    package mutating func decode(buffer: inout ByteBuffer) throws -> RESPValue? {
        var parser = RESPParser(buffer: buffer, limits: self.limits)
        guard let value = try parser.parseValue(depth: 0) else {
            return nil
        }
        buffer.moveReaderIndex(to: parser.buffer.readerIndex)
        return value
    }

    /// Decodes what is left when the channel closes or the handler is removed.
    ///
    /// A reply cut short by the server closing the connection is left in `buffer` rather than reported as a protocol
    /// error: the connection was lost, and the connection layer reports that through the channel becoming inactive.
    ///
    /// - Returns: The value, or nil when no whole value is left.
    /// - Throws: ``RESPProtocolError`` when the bytes are not RESP or exceed ``limits``.
    package mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> RESPValue? {
        try self.decode(buffer: &buffer)
    }
}
