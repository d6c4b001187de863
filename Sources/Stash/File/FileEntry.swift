import NIOCore

/// One entry file: the key, its value and its expiry in a small versioned binary format.
///
/// All integers are big-endian:
///
/// | bytes | field |
/// |---|---|
/// | 4 | magic `STSH` |
/// | 1 | format version, 1 |
/// | 8 | expiry, Int64 milliseconds since the Unix epoch; −1: never |
/// | 4 | key length, UInt32 |
/// | n | key, UTF-8 |
/// | 8 | value length, UInt64 |
/// | m | value |
/// | 4 | CRC-32 of every byte before it |
///
/// Storing the key lets a listing recover keys from hashed file names and lets a read reject a file that is not
/// the requested key's (a hash collision, or a file copied under another name).
struct FileEntry: Sendable {
    /// Why a file is not a valid entry, for ``StoreError/Code/corruptEntry`` messages.
    struct Malformed: Error, Sendable {
        let reason: String
    }

    /// What the start of an entry file says, checked against the file's size.
    struct Header: Sendable {
        /// The expiry in milliseconds since the Unix epoch, or `nil` for never.
        var expiresAt: Int64?
        /// Where the key starts and how long it is.
        var keyOffset: Int
        var keyLength: Int
        /// Where the value starts and how long it is.
        var valueOffset: Int
        var valueLength: Int
    }

    static let magic: [UInt8] = Array("STSH".utf8)
    static let version: UInt8 = 1
    /// The bytes before the key: magic, version, expiry and key length.
    static let prefixSize = 4 + 1 + 8 + 4
    /// The most bytes a header can take: everything up to the value.
    static let maximumHeaderSize = prefixSize + StoreLimits.maximumKeyLength + 8
    static let checksumSize = 4

    var key: String
    var value: ByteBuffer
    /// The expiry in milliseconds since the Unix epoch, or `nil` for never.
    var expiresAt: Int64?

    /// Whether the entry has expired at a given time (milliseconds since the Unix epoch, from the store's clock).
    func isExpired(at now: Int64) -> Bool {
        Self.isExpired(self.expiresAt, at: now)
    }

    static func isExpired(_ expiresAt: Int64?, at now: Int64) -> Bool {
        guard let expiresAt else { return false }
        return now >= expiresAt
    }

    /// The complete file contents.
    func encoded(allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        let keyLength = self.key.utf8.count
        var buffer = allocator.buffer(capacity: Self.prefixSize + keyLength + 8 + self.value.readableBytes + Self.checksumSize)
        buffer.writeBytes(Self.magic)
        buffer.writeInteger(Self.version)
        buffer.writeInteger(self.expiresAt ?? -1)
        buffer.writeInteger(UInt32(keyLength))
        buffer.writeString(self.key)
        buffer.writeInteger(UInt64(self.value.readableBytes))
        buffer.writeImmutableBuffer(self.value)
        let checksum = buffer.withUnsafeReadableBytes { CRC32.checksum($0) }
        buffer.writeInteger(checksum)
        return buffer
    }

    /// Parses the header at the start of a buffer holding the first bytes of a file of `fileSize` bytes.
    ///
    /// Needs the prefix, the key and the value length; checks that the lengths add up to exactly `fileSize`.
    static func parseHeader(_ buffer: ByteBuffer, fileSize: Int) throws(Malformed) -> Header {
        let start = buffer.readerIndex
        guard buffer.readableBytes >= self.prefixSize else {
            throw Malformed(reason: fileSize == 0 ? "the file is empty" : "the file is truncated (\(fileSize) bytes)")
        }
        guard buffer.getBytes(at: start, length: 4) == self.magic else { throw Malformed(reason: "it is not a Stash entry file") }
        let version = buffer.getInteger(at: start + 4, as: UInt8.self)!
        guard version == self.version else { throw Malformed(reason: "unknown format version \(version)") }
        let expiry = buffer.getInteger(at: start + 5, as: Int64.self)!
        guard expiry >= -1 else { throw Malformed(reason: "invalid expiry \(expiry)") }
        let keyLength = Int(buffer.getInteger(at: start + 13, as: UInt32.self)!)
        guard keyLength > 0, keyLength <= StoreLimits.maximumKeyLength else { throw Malformed(reason: "invalid key length \(keyLength)") }
        let valueLengthOffset = self.prefixSize + keyLength
        guard let valueLength = buffer.getInteger(at: start + valueLengthOffset, as: UInt64.self) else {
            throw Malformed(reason: "the file is truncated (\(fileSize) bytes)")
        }
        let valueOffset = valueLengthOffset + 8
        guard valueLength <= UInt64(fileSize), valueOffset + Int(valueLength) + self.checksumSize == fileSize else {
            throw Malformed(reason: "the file is \(fileSize) bytes but its header says \(valueOffset) + \(valueLength) + \(self.checksumSize)")
        }
        return Header(
            expiresAt: expiry == -1 ? nil : expiry,
            keyOffset: self.prefixSize,
            keyLength: keyLength,
            valueOffset: valueOffset,
            valueLength: Int(valueLength)
        )
    }

    /// Decodes a whole file, checking its header, its checksum and that it holds the expected key.
    static func decode(_ buffer: ByteBuffer, expectedKey key: String) throws(Malformed) -> FileEntry {
        let size = buffer.readableBytes
        let header = try self.parseHeader(buffer, fileSize: size)
        guard self.key(in: buffer, header: header, equals: key) else { throw Malformed(reason: "the file holds another key") }
        let computed = buffer.withUnsafeReadableBytes { bytes in
            CRC32.checksum(UnsafeRawBufferPointer(rebasing: bytes[..<(size - self.checksumSize)]))
        }
        let stored = buffer.getInteger(at: buffer.readerIndex + size - self.checksumSize, as: UInt32.self)
        guard computed == stored else { throw Malformed(reason: "checksum mismatch") }
        let value = buffer.getSlice(at: buffer.readerIndex + header.valueOffset, length: header.valueLength)!
        return FileEntry(key: key, value: value, expiresAt: header.expiresAt)
    }

    /// Whether the key bytes of a parsed header are exactly the UTF-8 bytes of `key`.
    static func key(in buffer: ByteBuffer, header: Header, equals key: String) -> Bool {
        guard header.keyLength == key.utf8.count else { return false }
        return buffer.withUnsafeReadableBytes { bytes in
            bytes[header.keyOffset..<(header.keyOffset + header.keyLength)].elementsEqual(key.utf8)
        }
    }

    /// The key of a parsed header, or `nil` when its bytes are not valid UTF-8.
    static func key(in buffer: ByteBuffer, header: Header) -> String? {
        guard let bytes = buffer.getBytes(at: buffer.readerIndex + header.keyOffset, length: header.keyLength) else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }
}
