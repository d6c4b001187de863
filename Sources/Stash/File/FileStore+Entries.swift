import Crypto
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
    /// Runs one step of an operation (lock, read, transform, write, unlock) as one work item on the configured thread
    /// pool (``Configuration/threadPool``), never on Swift's cooperative pool, whose threads must not block.
    ///
    /// A ``FileSystemError`` becomes ``StoreError/Code/ioFailure`` and a malformed entry of `key` becomes
    /// ``StoreError/Code/corruptEntry``.
    func perform<Result: Sendable>(
        key: String? = nil,
        path: String? = nil,
        _ body: @escaping @Sendable () throws -> Result
    ) async throws -> Result {
        try await self.configuration.threadPool.runIfActive {
            do {
                return try body()
            } catch {
                throw Self.storeError(error, key: key, path: path)
            }
        }
    }

    /// The error an operation throws for a failure of one of its steps.
    static func storeError(_ error: any Error, key: String? = nil, path: String? = nil) -> any Error {
        switch error {
        case let error as FileSystemError:
            return error.storeError
        case let error as FileEntry.Malformed:
            return StoreError.corruptEntry(key: key ?? "", "\(error.reason) (\(path ?? "no file"))")
        default:
            return error
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

    /// Reads a key without locking; an expired entry reads as missing, and is removed when its lock is free (checked
    /// again under the lock). A busy lock means a write of the key is under way: it is left to replace the file.
    func readLive(_ key: String, path: String) throws -> FileEntry? {
        guard let entry = try FileEntry.read(at: path, expectedKey: key) else { return nil }
        guard entry.isExpired(at: self.nowInMilliseconds) else { return entry }
        let stripe = FileLockStripes.stripe(namespacePath: self.namespacePath, key: key)
        _ = try self.storage.locks.withLockIfFree(stripe: stripe, waitingUpTo: .zero) { try self.readLocked(key, path: path) }
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
        let descriptor = try self.createTemporaryFile(temporary)
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
        if synchronize { try self.synchronizeDirectory(of: path) }
    }

    /// How many times a write makes its namespace's directory and tries again to create its temporary file.
    static var directoryAttempts: Int { 8 }

    /// Creates a write's temporary file, making the namespace's directory when it is missing.
    ///
    /// The directory is made by the namespace's first write, and again after a `deleteAll` of the namespace or of
    /// a parent removed it. Such a `deleteAll`, in this process or another, may be running now: the directory is made
    /// and the file created holding the namespaces lock (shared), which a sweep holds exclusively to remove an empty
    /// directory, so no sweep removes it in between; once the file exists the directory is not empty until the file
    /// is renamed into an entry. The two steps are still tried again, a bounded number of times, in case something
    /// that takes no lock removes the directory. The lock is held briefly by sweeps: a write waits for it up to
    /// ``Configuration/lockTimeout`` on its thread.
    private func createTemporaryFile(_ temporary: String) throws -> Int32 {
        let flags = O_WRONLY | O_CREAT | O_EXCL
        do {
            return try FileSystem.openFile(temporary, flags: flags, mode: self.configuration.fileMode)
        } catch {
            // A missing directory takes the slow path below.
            guard error.errorNumber == ENOENT else { throw error }
        }
        let locks = self.storage.locks
        let created = try locks.withNamespacesLockIfFree(exclusive: false, waitingUpTo: self.configuration.lockTimeout) {
            try self.makeDirectoryAndCreate(temporary, flags: flags)
        }
        guard let created else {
            throw StoreError(
                .timedOut,
                "timed out after \(self.configuration.lockTimeout) waiting to make the directory \(self.directory): "
                    + "\(locks.namespacesLockPath) is held by another task or process"
            )
        }
        return created
    }

    /// Makes the namespace's directory and creates a file in it, again while something removes the directory.
    private func makeDirectoryAndCreate(_ temporary: String, flags: Int32) throws(FileSystemError) -> Int32 {
        var attempt = 1
        while true {
            do {
                try FileSystem.makeDirectories(
                    self.directory,
                    mode: self.configuration.directoryMode,
                    synchronize: self.configuration.synchronizesWrites
                )
                return try FileSystem.openFile(temporary, flags: flags, mode: self.configuration.fileMode)
            } catch {
                // The directory, or a parent namespace's, went before the file was created.
                guard error.errorNumber == ENOENT, attempt < Self.directoryAttempts else { throw error }
                attempt += 1
            }
        }
    }

    /// Flushes the directory holding a file. A directory that is gone (a `deleteAll` removed the file and the
    /// directory meanwhile) has nothing left to flush.
    private func synchronizeDirectory(of path: String) throws(FileSystemError) {
        do {
            try FileSystem.synchronizeDirectory(FileSystem.parent(of: path))
        } catch  where error.errorNumber == ENOENT {
            return
        }
    }

    /// Removes an entry file, if there is one, and flushes the directory when configured.
    func removeFile(_ path: String) throws {
        if try FileSystem.removeFile(path), self.configuration.synchronizesWrites {
            try self.synchronizeDirectory(of: path)
        }
    }

    /// The suffix of entry files: after 64 lowercase hexadecimal digits.
    static var entrySuffix: String { ".entry" }
    /// The suffix of a child namespace's directory, after its encoded name (``directoryName(ofNamespace:)``).
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
