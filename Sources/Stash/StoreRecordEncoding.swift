public import NIOCore

/// The stored form of a record in stores that keep it as one value: the in-process stores and the default
/// implementations of the record operations on ``Store/update(_:_:)``.
///
/// The marker byte `0xA5` (never the first byte of a JSON document, a counter or a version-1 session record), the
/// format version `1`, the number of fields (`UInt32`), then each field as its name's length (`UInt32`), the name in
/// UTF-8, the value's length (`UInt32`) and the value, names in ascending order so equal records encode equally.
/// Integers are big-endian.
public enum StoreRecordEncoding {
    static let marker: UInt8 = 0xA5
    static let version: UInt8 = 1

    /// The stored form of a record's fields.
    public static func encode(_ fields: [String: ByteBuffer]) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: 6 + Self.size(of: fields))
        buffer.writeInteger(Self.marker)
        buffer.writeInteger(Self.version)
        Self.write(fields, to: &buffer)
        return buffer
    }

    /// The bytes ``write(_:to:)`` writes for some fields.
    package static func size(of fields: [String: ByteBuffer]) -> Int {
        var size = 4
        for (name, value) in fields { size += 8 + name.utf8.count + value.readableBytes }
        return size
    }

    /// Writes the number of fields (`UInt32`), then each as its name's length (`UInt32`), the name in UTF-8, the
    /// value's length (`UInt32`) and the value, names in ascending order: the body of a record, and of a session of
    /// Stash 0.x.
    package static func write(_ fields: [String: ByteBuffer], to buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt32(fields.count))
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) {
            buffer.writeInteger(UInt32(name.utf8.count))
            buffer.writeString(name)
            buffer.writeInteger(UInt32(value.readableBytes))
            buffer.writeImmutableBuffer(value)
        }
    }

    /// What ``read(from:)`` found wrong.
    package enum ReadFailure: Error {
        case truncatedHeader
        case implausibleCount(UInt32)
        case truncatedField
        case duplicateField
        case trailingBytes

        /// Why the bytes are not a whole record, in words.
        package var reason: String {
            switch self {
            case .truncatedHeader: "its header is truncated"
            case .implausibleCount(let count): "it claims \(count) fields"
            case .truncatedField: "a field is truncated"
            case .duplicateField: "a field appears twice"
            case .trailingBytes: "bytes follow its last field"
            }
        }
    }

    /// Reads what ``write(_:to:)`` wrote, to the end of the buffer.
    package static func read(from buffer: inout ByteBuffer) throws(ReadFailure) -> [String: ByteBuffer] {
        guard let count = buffer.readInteger(as: UInt32.self) else { throw .truncatedHeader }
        // Each field takes at least 8 bytes, so a count larger than that allows is damage, not a reason to reserve.
        guard Int(count) <= buffer.readableBytes / 8 else { throw .implausibleCount(count) }
        var fields = [String: ByteBuffer](minimumCapacity: Int(count))
        for _ in 0..<count {
            guard let nameLength = buffer.readInteger(as: UInt32.self),
                let name = buffer.readString(length: Int(nameLength)),
                let valueLength = buffer.readInteger(as: UInt32.self),
                let value = buffer.readSlice(length: Int(valueLength))
            else { throw .truncatedField }
            guard fields.updateValue(value, forKey: name) == nil else { throw .duplicateField }
        }
        guard buffer.readableBytes == 0 else { throw .trailingBytes }
        return fields
    }

    /// Whether a stored value is a record of this encoding, judged by its first byte.
    public static func isRecord(_ stored: ByteBuffer) -> Bool {
        stored.getInteger(at: stored.readerIndex, as: UInt8.self) == Self.marker
    }

    /// The fields of a stored record.
    /// - Throws: ``StoreError/Code/conversionFailed`` when the key holds a value that is not a record;
    ///   ``StoreError/Code/corruptEntry`` for a record that is damaged or of an unknown version.
    public static func decode(_ stored: ByteBuffer) throws(StoreError) -> [String: ByteBuffer] {
        var buffer = stored
        guard buffer.readInteger(as: UInt8.self) == Self.marker else {
            throw StoreError(.conversionFailed, "the key holds a value that is not a record")
        }
        guard let version = buffer.readInteger(as: UInt8.self), version == Self.version else {
            throw StoreError(.corruptEntry, "the record's format version is unknown")
        }
        do {
            return try Self.read(from: &buffer)
        } catch {
            throw Self.corrupt(error.reason)
        }
    }

    static func corrupt(_ reason: String) -> StoreError {
        StoreError(.corruptEntry, "the stored record is corrupt: \(reason)")
    }
}
