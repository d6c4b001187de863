import NIOCore

/// A persister's file: every live entry of a memory store, with absolute expiry times, in a compact binary form.
///
/// Layout (integers big-endian):
///
///     "STASHSNP"  version: UInt8 = 1  writer: 16 bytes  count: UInt64
///     count × { depth: UInt8, depth × { length: UInt8, name }, keyLength: UInt16, key,
///               expiresAt: Int64 (Unix milliseconds, -1 = never), valueLength: UInt64, value }
///     CRC-32 of everything before it: UInt32
struct Snapshot {
    struct Entry {
        /// The names of the namespaces below the persisted one (`[]` for its own entries).
        var namespace: [String]
        var key: String
        var value: ByteBuffer
        /// Milliseconds since the Unix epoch, or `nil` for an entry that never expires.
        var expiresAt: Int64?
    }

    static let magic = Array("STASHSNP".utf8)
    static let version: UInt8 = 1
    static let writerLength = 16
    /// Magic, version, writer, count.
    static let headerLength = 8 + 1 + 16 + 8
    /// The fewest bytes an entry takes: depth, key length, a 1-byte key, expiry, value length.
    static let minimumEntryLength = 1 + 2 + 1 + 8 + 8

    /// Who wrote the snapshot: a persister recognises, and never reloads, the snapshots it wrote itself.
    var writer: [UInt8]
    var entries: [Entry]

    func encoded(allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var size = Self.headerLength + 4
        for entry in self.entries {
            size += Self.minimumEntryLength - 1 + entry.key.utf8.count + entry.value.readableBytes
            for name in entry.namespace { size += 1 + name.utf8.count }
        }
        var buffer = allocator.buffer(capacity: size)
        buffer.writeBytes(Self.magic)
        buffer.writeInteger(Self.version)
        buffer.writeBytes(self.writer)
        buffer.writeInteger(UInt64(self.entries.count))
        for entry in self.entries {
            buffer.writeInteger(UInt8(entry.namespace.count))
            for name in entry.namespace {
                buffer.writeInteger(UInt8(name.utf8.count))
                buffer.writeString(name)
            }
            buffer.writeInteger(UInt16(entry.key.utf8.count))
            buffer.writeString(entry.key)
            buffer.writeInteger(entry.expiresAt ?? -1)
            buffer.writeInteger(UInt64(entry.value.readableBytes))
            buffer.writeImmutableBuffer(entry.value)
        }
        let checksum = buffer.withUnsafeReadableBytes { CRC32.checksum($0) }
        buffer.writeInteger(checksum)
        return buffer
    }

    /// Reads only the writer of a snapshot file's contents, after checking its magic and version.
    static func writer(of buffer: ByteBuffer) throws(StoreError) -> [UInt8] {
        var reader = buffer
        try self.readHeader(&reader)
        return reader.readBytes(length: self.writerLength)!
    }

    /// Decodes a snapshot, checking everything: magic, version, checksum, every length, every key and name.
    /// - Throws: ``StoreError/Code/unsupportedSnapshotVersion`` or ``StoreError/Code/corruptSnapshot``.
    static func decode(_ buffer: ByteBuffer, allocator: ByteBufferAllocator = ByteBufferAllocator()) throws(StoreError) -> Snapshot {
        var reader = buffer
        try self.readHeader(&reader)
        let stored = buffer.getInteger(at: buffer.writerIndex - 4, as: UInt32.self)!
        let computed = buffer.withUnsafeReadableBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0.dropLast(4))) }
        guard stored == computed else { throw self.corrupt("its checksum does not match (damaged or truncated)") }
        reader.moveWriterIndex(to: reader.writerIndex - 4)

        let writer = reader.readBytes(length: self.writerLength)!
        guard let count = reader.readInteger(as: UInt64.self), count <= UInt64(reader.readableBytes / self.minimumEntryLength) else {
            throw self.corrupt("its entry count does not fit its size")
        }
        var entries: [Entry] = []
        entries.reserveCapacity(Int(count))
        for _ in 0..<count {
            entries.append(try self.readEntry(&reader, allocator: allocator))
        }
        guard reader.readableBytes == 0 else { throw self.corrupt("it has bytes after its last entry") }
        return Snapshot(writer: writer, entries: entries)
    }

    private static func readHeader(_ reader: inout ByteBuffer) throws(StoreError) {
        guard reader.readableBytes >= self.headerLength + 4, reader.readBytes(length: self.magic.count) == self.magic else {
            throw self.corrupt("it is not a Stash snapshot")
        }
        let version = reader.readInteger(as: UInt8.self)!
        guard version == self.version else {
            throw StoreError(
                .unsupportedSnapshotVersion,
                "the snapshot has format version \(version); this version of Stash reads version \(self.version)"
            )
        }
    }

    private static func readEntry(_ reader: inout ByteBuffer, allocator: ByteBufferAllocator) throws(StoreError) -> Entry {
        guard let depth = reader.readInteger(as: UInt8.self) else { throw self.corrupt("an entry is cut short") }
        var namespace: [String] = []
        for _ in 0..<depth {
            guard let length = reader.readInteger(as: UInt8.self), let name = self.readString(&reader, length: Int(length)),
                (try? StoreValidation.validateNamespace(name)) != nil
            else { throw self.corrupt("an entry has an invalid namespace name") }
            namespace.append(name)
        }
        guard let keyLength = reader.readInteger(as: UInt16.self), let key = self.readString(&reader, length: Int(keyLength)),
            (try? StoreValidation.validateKey(key)) != nil
        else { throw self.corrupt("an entry has an invalid key") }
        guard let expiresAt = reader.readInteger(as: Int64.self), expiresAt >= -1,
            let valueLength = reader.readInteger(as: UInt64.self), valueLength <= UInt64(reader.readableBytes),
            let slice = reader.readSlice(length: Int(valueLength))
        else { throw self.corrupt("an entry is cut short") }
        // A copy, so that one long-lived entry never keeps the whole file's buffer alive.
        var value = allocator.buffer(capacity: slice.readableBytes)
        value.writeImmutableBuffer(slice)
        return Entry(namespace: namespace, key: key, value: value, expiresAt: expiresAt == -1 ? nil : expiresAt)
    }

    private static func readString(_ reader: inout ByteBuffer, length: Int) -> String? {
        guard let bytes = reader.readBytes(length: length) else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func corrupt(_ reason: String) -> StoreError {
        StoreError(.corruptSnapshot, "the snapshot cannot be read: \(reason)")
    }
}
