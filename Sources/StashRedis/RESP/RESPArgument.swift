package import NIOCore

/// One argument of a command sent to the server: text, bytes, or an integer written in decimal.
package enum RESPArgument: Sendable, ExpressibleByStringLiteral {
    /// Text, sent as its UTF-8 bytes.
    case string(String)
    /// Bytes, sent as they are (the buffer's readable bytes).
    case bytes(ByteBuffer)
    /// An integer, sent as its decimal digits (`PX 100` is `.string("PX"), .integer(100)`).
    case integer(Int64)

    /// Creates a text argument, so that commands read as `["GET", .bytes(key)]`.
    package init(stringLiteral value: String) {
        self = .string(value)
    }
}
