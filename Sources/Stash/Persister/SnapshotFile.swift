import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The file a ``Persister`` keeps its snapshot in. Every function blocks: call them on a thread pool.
struct SnapshotFile: Sendable {
    /// Which file a path named at some moment: a rename puts a new one in place.
    struct Identity: Equatable, Sendable {
        var device: UInt64
        var inode: UInt64
    }

    let path: String
    let synchronizesWrites: Bool
    /// The largest file read: anything bigger is not a snapshot this store could have written.
    let maximumSize: Int
    /// The permission bits of the snapshot (its temporary file, renamed into place), before the umask: by default
    /// the owner's only, since a snapshot holds session data.
    var fileMode: mode_t = 0o600

    /// The identity of the file at the path now, or `nil` when there is none.
    func currentIdentity() throws(FileSystemError) -> Identity? {
        guard let status = try FileSystem.linkStatus(self.path) else { return nil }
        return Identity(status)
    }

    /// Writes new contents atomically: a temporary file in the same directory, flushed when configured, renamed
    /// over the snapshot. A reader (or a crash) sees the old file or the new one, never a mix.
    /// - Returns: The identity of the file written.
    func write(_ contents: ByteBuffer) throws -> Identity {
        let directory = FileSystem.parent(of: self.path)
        let name = self.path.split(separator: "/").last.map(String.init) ?? "snapshot"
        let temporary = directory + "/." + name + FileStore<WallClock>.temporaryName()
        let descriptor = try FileSystem.openFile(temporary, flags: O_WRONLY | O_CREAT | O_EXCL, mode: self.fileMode)
        var open = true
        do {
            try FileSystem.writeBytes(descriptor, contents, path: temporary)
            if self.synchronizesWrites { try FileSystem.synchronize(descriptor, path: temporary) }
            let identity = Identity(try FileSystem.status(of: descriptor, path: temporary))
            open = false
            try FileSystem.closeFile(descriptor, path: temporary)
            try FileSystem.renameFile(temporary, to: self.path)
            if self.synchronizesWrites { try FileSystem.synchronizeDirectory(directory) }
            return identity
        } catch {
            if open { FileSystem.closeReadOnly(descriptor) }
            _ = try? FileSystem.removeFile(temporary)
            throw error
        }
    }

    /// Reads the whole file.
    /// - Returns: Its contents and identity, or `nil` when there is no file.
    /// - Throws: ``FileSystemError`` when reading fails; ``StoreError/Code/corruptSnapshot`` when the file is not a
    ///   regular file or is larger than ``maximumSize``.
    func read(allocator: ByteBufferAllocator = ByteBufferAllocator()) throws -> (contents: ByteBuffer, identity: Identity)? {
        let descriptor: Int32
        do {
            descriptor = try FileSystem.openFile(self.path, flags: O_RDONLY | O_NONBLOCK)
        } catch {
            if error.errorNumber == ENOENT { return nil }
            throw error
        }
        defer { FileSystem.closeReadOnly(descriptor) }
        let status = try FileSystem.status(of: descriptor, path: self.path)
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw StoreError(.corruptSnapshot, "the snapshot \(self.path) is not a regular file")
        }
        let size = Int(status.st_size)
        guard size <= self.maximumSize else {
            throw StoreError(.corruptSnapshot, "the snapshot \(self.path) is \(size) bytes, over the \(self.maximumSize)-byte limit")
        }
        var contents = allocator.buffer(capacity: size)
        try FileSystem.readBytes(descriptor, into: &contents, count: size, path: self.path)
        return (contents, Identity(status))
    }
}

extension SnapshotFile.Identity {
    init(_ status: stat) {
        self.init(device: UInt64(status.st_dev), inode: UInt64(status.st_ino))
    }
}
