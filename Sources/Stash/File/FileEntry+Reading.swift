import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension FileEntry {
    /// How much of a file a read takes in its first `read`: a small entry is read whole in one call, a large one only
    /// once its header has been checked (a huge foreign file is never loaded).
    static let firstReadSize = 64 * 1024

    /// Reads and checks the entry file at a path.
    /// - Returns: The entry, or `nil` when there is no file.
    /// - Throws: ``FileEntry/Malformed`` when the file is not a valid entry for `key`, ``FileSystemError`` when
    ///   reading fails.
    static func read(at path: String, expectedKey key: String, allocator: ByteBufferAllocator = ByteBufferAllocator()) throws -> FileEntry? {
        guard let (descriptor, size) = try self.open(path) else { return nil }
        defer { FileSystem.closeReadOnly(descriptor) }

        var buffer = allocator.buffer(capacity: min(size, self.firstReadSize))
        try FileSystem.readBytes(descriptor, into: &buffer, count: min(size, self.firstReadSize), path: path)
        if buffer.readableBytes < size {
            let header = try self.parseHeader(buffer, fileSize: size)
            guard self.key(in: buffer, header: header, equals: key) else { throw Malformed(reason: "the file holds another key") }
            buffer.reserveCapacity(size)
            try FileSystem.readBytes(descriptor, into: &buffer, count: size - buffer.readableBytes, path: path)
            guard buffer.readableBytes == size else { throw Malformed(reason: "the file shrank while it was read") }
        }
        return try self.decode(buffer, expectedKey: key)
    }

    /// Reads the header of the entry file at a path, to learn its key and expiry without reading its value.
    /// - Returns: The header and key, or `nil` when there is no file.
    /// - Throws: ``FileEntry/Malformed`` when the file is not a valid entry (its checksum is not verified),
    ///   ``FileSystemError`` when reading fails.
    static func readHeader(at path: String, allocator: ByteBufferAllocator = ByteBufferAllocator()) throws -> (header: Header, key: String)? {
        guard let (descriptor, size) = try self.open(path) else { return nil }
        defer { FileSystem.closeReadOnly(descriptor) }

        let count = min(size, self.maximumHeaderSize)
        var buffer = allocator.buffer(capacity: count)
        try FileSystem.readBytes(descriptor, into: &buffer, count: count, path: path)
        let header = try self.parseHeader(buffer, fileSize: size)
        guard let key = self.key(in: buffer, header: header) else { throw Malformed(reason: "the key is not valid UTF-8") }
        return (header, key)
    }

    /// Opens an entry file for reading.
    ///
    /// It never follows a symbolic link and never blocks on a FIFO: anything but a regular file is malformed.
    /// - Returns: The descriptor and the file's size, or `nil` when there is no file.
    private static func open(_ path: String) throws -> (descriptor: Int32, size: Int)? {
        let descriptor: Int32
        do {
            descriptor = try FileSystem.openFile(path, flags: O_RDONLY | O_NOFOLLOW | O_NONBLOCK)
        } catch {
            switch error.errorNumber {
            case ENOENT: return nil
            case ELOOP: throw Malformed(reason: "it is a symbolic link")
            default: throw error
            }
        }
        do {
            let status = try FileSystem.status(of: descriptor, path: path)
            guard status.st_mode & S_IFMT == S_IFREG else { throw Malformed(reason: "it is not a regular file") }
            return (descriptor, Int(status.st_size))
        } catch {
            FileSystem.closeReadOnly(descriptor)
            throw error
        }
    }
}
