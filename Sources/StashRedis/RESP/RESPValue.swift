package import NIOCore

/// One RESP2 or RESP3 reply, or a message the server pushed.
///
/// Strings keep their bytes as `ByteBuffer` slices of the buffer they were received in, so decoding copies no payload.
/// RESP3 attributes (`|`) are decoded and dropped: the decoder returns the value that follows them.
package enum RESPValue: Sendable, Hashable {
    /// `+OK`: a short string without CR or LF.
    case simpleString(ByteBuffer)
    /// `-ERR message`: the whole line after the `-`, error code included.
    case simpleError(ByteBuffer)
    /// `:42`: a signed 64-bit integer.
    case integer(Int64)
    /// `$3\r\nfoo`: a binary-safe string.
    case bulkString(ByteBuffer)
    /// RESP3 `_`, and RESP2's null bulk string `$-1` and null array `*-1`.
    case null
    /// `,1.5`: a double, `inf`, `-inf` and `nan` included.
    case double(Double)
    /// `#t` or `#f`.
    case boolean(Bool)
    /// `!21\r\nSYNTAX invalid syntax`: a binary-safe error, error code included.
    case blobError(ByteBuffer)
    /// `=15\r\ntxt:Some string`: a string meant for people, with its three-byte format (`txt`, `mkd`) split off.
    // Indirect, the only case with two buffers, so that every RESPValue is the size of one ByteBuffer (24 bytes).
    indirect case verbatimString(format: ByteBuffer, ByteBuffer)
    /// `(3492890328409238509324850943850943825024385`: an integer outside the 64-bit range, as its decimal digits
    /// (with a leading `-` when negative).
    case bigNumber(ByteBuffer)
    /// `*`: an ordered collection.
    case array([RESPValue])
    /// `%`: a map, flattened as key, value, key, value…, in the order received.
    case map([RESPValue])
    /// `~`: an unordered collection, in the order received.
    case set([RESPValue])
    /// `>`: out-of-band data the server pushed (a Pub/Sub message, an invalidation); the first element names its kind.
    case push([RESPValue])
}

extension RESPValue {
    /// The error message when this is a simple or blob error (error code included), nil otherwise.
    package var errorMessage: String? {
        switch self {
        case .simpleError(let message), .blobError(let message):
            String(buffer: message)
        default:
            nil
        }
    }

    /// The bytes of a simple, bulk or verbatim string (without its format), nil otherwise.
    package var stringBytes: ByteBuffer? {
        switch self {
        case .simpleString(let bytes), .bulkString(let bytes), .verbatimString(format: _, let bytes):
            bytes
        default:
            nil
        }
    }
}
