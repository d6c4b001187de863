import NIOCore

extension RESPValue: CustomStringConvertible {
    /// The value in a compact, readable form (strings quoted, bytes outside printable ASCII escaped), for logs and test failures.
    package var description: String {
        switch self {
        case .simpleString(let bytes): "simple(\(Self.quoted(bytes)))"
        case .simpleError(let bytes): "error(\(Self.quoted(bytes)))"
        case .integer(let value): "integer(\(value))"
        case .bulkString(let bytes): "bulk(\(Self.quoted(bytes)))"
        case .null: "null"
        case .double(let value): "double(\(value))"
        case .boolean(let value): "boolean(\(value))"
        case .blobError(let bytes): "blobError(\(Self.quoted(bytes)))"
        case .verbatimString(let format, let bytes): "verbatim(\(Self.quoted(format)), \(Self.quoted(bytes)))"
        case .bigNumber(let digits): "bigNumber(\(String(buffer: digits)))"
        case .array(let elements): "array\(elements)"
        case .map(let elements): "map\(elements)"
        case .set(let elements): "set\(elements)"
        case .push(let elements): "push\(elements)"
        }
    }

    private static func quoted(_ bytes: ByteBuffer) -> String {
        var text = "\""
        for byte in bytes.readableBytesView {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                text += "\\" + String(UnicodeScalar(byte))
            case 0x20..<0x7F:
                text += String(UnicodeScalar(byte))
            default:
                text += "\\x" + (byte < 0x10 ? "0" : "") + String(byte, radix: 16)
            }
        }
        return text + "\""
    }
}
