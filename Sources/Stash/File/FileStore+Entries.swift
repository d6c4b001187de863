import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// The synchronous steps the operations are made of. They block, so they run only inside `perform`.
extension FileStore {
    /// Runs one whole operation (lock, read, transform, write, unlock) as one work item on NIO's blocking thread pool,
    /// never on Swift's cooperative pool, where a thread blocked in `flock` could starve the tasks that would free it.
    ///
    /// A ``FileSystemError`` becomes ``StoreError/Code/ioFailure`` and a malformed entry of `key` becomes
    /// ``StoreError/Code/corruptEntry``.
    func perform<Result: Sendable>(
        key: String? = nil,
        path: String? = nil,
        _ body: @escaping @Sendable () throws -> Result
    ) async throws -> Result {
        try await NIOThreadPool.singleton.runIfActive {
            do {
                return try body()
            } catch let error as FileSystemError {
                throw error.storeError
            } catch let error as FileEntry.Malformed {
                throw StoreError.corruptEntry(key: key ?? "", "\(error.reason) (\(path ?? "no file"))")
            }
        }
    }

    /// The file of a key: the SHA-256 of its UTF-8 bytes names it, so no key can reach outside the directory.
    func entryPath(for key: String) -> String {
        Self.entryPath(for: key, in: self.directory)
    }

    static func entryPath(for key: String, in directory: String) -> String {
        directory + "/" + SHA256.hexDigest(key.utf8) + Self.entrySuffix
    }

    /// The current time of the store's clock, in milliseconds since the Unix epoch.
    var nowInMilliseconds: Int64 {
        self.clock.now.millisecondsSinceEpoch
    }

    /// The expiry time for a time to live in milliseconds.
    func deadline(afterMilliseconds milliseconds: Int64?) -> Int64? {
        milliseconds.map { self.nowInMilliseconds + $0 }
    }

    /// Runs `body` holding the exclusive lock of a key of this namespace.
    func withKeyLock<Result>(_ key: String, _ body: () throws -> Result) throws -> Result {
        try self.storage.locks.withLock(stripe: FileLockStripes.stripe(namespacePath: self.namespacePath, key: key), body)
    }

    /// Reads a key without locking; an expired entry is removed under the key's lock (after checking again) and
    /// reads as missing.
    func readLive(_ key: String, path: String) throws -> FileEntry? {
        guard let entry = try FileEntry.read(at: path, expectedKey: key) else { return nil }
        guard entry.isExpired(at: self.nowInMilliseconds) else { return entry }
        _ = try self.withKeyLock(key) { try self.readLocked(key, path: path) }
        return nil
    }

    /// Reads a key while holding its lock; an expired entry is removed and reads as missing.
    func readLocked(_ key: String, path: String) throws -> FileEntry? {
        guard let entry = try FileEntry.read(at: path, expectedKey: key) else { return nil }
        guard entry.isExpired(at: self.nowInMilliseconds) else { return entry }
        try self.removeFile(path)
        return nil
    }

    /// Writes an entry atomically: a temporary file in the same directory, flushed when configured, renamed over the
    /// entry's file. Readers see the old file or the new one, never a mix.
    func write(_ entry: FileEntry, to path: String) throws {
        let synchronize = self.configuration.synchronizesWrites
        let contents = entry.encoded()
        let temporary = self.directory + "/" + Self.temporaryName()
        let flags = O_WRONLY | O_CREAT | O_EXCL
        let descriptor: Int32
        do {
            descriptor = try FileSystem.openFile(temporary, flags: flags)
        } catch  where error.errorNumber == ENOENT {
            // The namespace's directory is made by its first write (and again after a deleteAll removed it).
            try FileSystem.makeDirectories(self.directory, synchronize: synchronize)
            descriptor = try FileSystem.openFile(temporary, flags: flags)
        }
        do {
            do {
                try FileSystem.writeBytes(descriptor, contents, path: temporary)
                if synchronize { try FileSystem.synchronize(descriptor, path: temporary) }
            } catch {
                FileSystem.closeReadOnly(descriptor)
                throw error
            }
            try FileSystem.closeFile(descriptor, path: temporary)
            try FileSystem.renameFile(temporary, to: path)
        } catch {
            // The write failed and its error is what the caller gets; a temporary file that cannot be removed now is
            // removed by a later sweep.
            _ = try? FileSystem.removeFile(temporary)
            throw error
        }
        if synchronize { try FileSystem.synchronizeDirectory(self.directory) }
    }

    /// Removes an entry file, if there is one, and flushes the directory when configured.
    func removeFile(_ path: String) throws {
        if try FileSystem.removeFile(path), self.configuration.synchronizesWrites {
            try FileSystem.synchronizeDirectory(FileSystem.parent(of: path))
        }
    }

    /// The suffix of entry files: after 64 lowercase hexadecimal digits.
    static var entrySuffix: String { ".entry" }
    /// The suffix of a child namespace's directory, after its name.
    static var namespaceSuffix: String { ".ns" }
    /// The prefix of temporary files, followed by the writer (`<pid>@<pid namespace>`), a dash and a random number.
    static var temporaryPrefix: String { ".tmp-" }

    /// A fresh temporary file name for a writer process: the writer's id lets a sweep tell a dead writer's leftovers
    /// from a live write.
    package static func temporaryName(pid: Int32 = getpid()) -> String {
        "\(Self.temporaryPrefix)\(pid)@\(ProcessNamespace.current)-\(String(UInt64.random(in: .min ... .max), radix: 16))"
    }

    /// Whether a directory entry's name is an entry file's: 64 lowercase hexadecimal digits and `.entry`.
    static func isEntryName(_ name: String) -> Bool {
        let bytes = name.utf8
        guard bytes.count == 64 + 6, name.hasSuffix(Self.entrySuffix) else { return false }
        return bytes.prefix(64).allSatisfy { byte in
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
        }
    }
}
