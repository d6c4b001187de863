import NIOCore

/// A session as the store keeps it: its values (each a JSON document) and when its expiry was last renewed, in a
/// compact, versioned binary encoding.
///
/// Version 1: the version byte, the renewal time (milliseconds since the Unix epoch, `Int64`), the number of values
/// (`UInt32`), then each value as its key's length (`UInt32`), the key in UTF-8, the value's length (`UInt32`) and
/// the value, keys in ascending order so equal sessions encode equally. Everything is big-endian.
struct SessionRecord: Equatable, Sendable {
    static let version: UInt8 = 1

    /// The values by key, each the JSON encoding of what the handler stored.
    var values: [String: ByteBuffer]
    /// When the session's expiry was last set in full (created, renewed by sliding expiry), in milliseconds since
    /// the Unix epoch.
    var renewedAt: Int64

    init(values: [String: ByteBuffer], renewedAt: Int64) {
        self.values = values
        self.renewedAt = renewedAt
    }

    /// Decodes a stored record.
    /// - Throws: ``SessionError/Code/corruptRecord`` for anything but a whole, well-formed version 1 record.
    init(decoding stored: ByteBuffer) throws(SessionError) {
        var buffer = stored
        guard let version = buffer.readInteger(as: UInt8.self) else { throw Self.corrupt("it is empty") }
        guard version == Self.version else { throw Self.corrupt("its format version \(version) is unknown") }
        guard let renewedAt = buffer.readInteger(as: Int64.self), let count = buffer.readInteger(as: UInt32.self) else {
            throw Self.corrupt("its header is truncated")
        }
        // Each value takes at least 8 bytes, so a count larger than that allows is damage, not a reason to reserve.
        guard Int(count) <= buffer.readableBytes / 8 else { throw Self.corrupt("it claims \(count) values") }
        var values: [String: ByteBuffer] = [:]
        values.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let keyLength = buffer.readInteger(as: UInt32.self),
                let key = buffer.readString(length: Int(keyLength)),
                let valueLength = buffer.readInteger(as: UInt32.self),
                let value = buffer.readSlice(length: Int(valueLength))
            else { throw Self.corrupt("a value is truncated") }
            guard values.updateValue(value, forKey: key) == nil else { throw Self.corrupt("a key appears twice") }
        }
        guard buffer.readableBytes == 0 else { throw Self.corrupt("bytes follow its last value") }
        self.values = values
        self.renewedAt = renewedAt
    }

    /// The record's stored form.
    func encoded() -> ByteBuffer {
        var size = 13
        for (key, value) in self.values { size += 8 + key.utf8.count + value.readableBytes }
        var buffer = ByteBufferAllocator().buffer(capacity: size)
        buffer.writeInteger(Self.version)
        buffer.writeInteger(self.renewedAt)
        buffer.writeInteger(UInt32(self.values.count))
        for (key, value) in self.values.sorted(by: { $0.key < $1.key }) {
            buffer.writeInteger(UInt32(key.utf8.count))
            buffer.writeString(key)
            buffer.writeInteger(UInt32(value.readableBytes))
            buffer.writeImmutableBuffer(value)
        }
        return buffer
    }

    /// Applies one request's changes: a value sets its key, `nil` removes it.
    mutating func apply(_ changes: [String: ByteBuffer?]) {
        for (key, change) in changes {
            self.values[key] = change
        }
    }

    private static func corrupt(_ reason: String) -> SessionError {
        SessionError(.corruptRecord, "the stored session is corrupt: \(reason)")
    }
}
