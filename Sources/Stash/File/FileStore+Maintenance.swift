#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension FileStore {
    /// How old a temporary file must be before a sweep removes it even though its writer still runs.
    static var staleTemporaryFileAge: Int { 3600 }

    /// Removes every entry of this namespace and of its children, and the children's directories.
    ///
    /// Each entry is removed under its key's lock, so an update running at the same time either finishes before the
    /// removal or starts after it. Files that are not entries are left alone, except temporary files of dead writers;
    /// a child's directory that still holds such a file (or a write in flight) stays, empty of entries.
    public func deleteAll() async throws {
        try await self.perform { try self.removeAll(in: self.namespacePath) }
    }

    /// Removes the expired entries of this namespace and of its children, and temporary files left by writers that
    /// died (their process is gone) or that are older than an hour.
    ///
    /// An entry is removed under its key's lock after its expiry is checked again, so a value written meanwhile
    /// survives. A failure on one file does not stop the sweep: the first error is thrown once the walk is done.
    public func deleteExpired() async throws {
        try await self.perform { try self.removeExpired(in: self.namespacePath) }
    }

    func removeAll(in namespacePath: String) throws {
        try self.walk(namespacePath) { directory, name in
            if Self.isEntryName(name) {
                try self.removeEntry(directory + "/" + name, namespacePath: namespacePath, removingMalformed: true) { _ in true }
            } else if name.hasPrefix(Self.temporaryPrefix) {
                try self.removeIfStale(directory + "/" + name, name: name)
            } else if let child = try self.childNamespace(named: name, in: directory, namespacePath: namespacePath) {
                try self.removeAll(in: child)
                if try FileSystem.removeDirectory(directory + "/" + name), self.configuration.synchronizesWrites {
                    try FileSystem.synchronizeDirectory(directory)
                }
            }
        }
    }

    func removeExpired(in namespacePath: String) throws {
        try self.walk(namespacePath) { directory, name in
            if Self.isEntryName(name) {
                let now = self.nowInMilliseconds
                try self.removeEntry(directory + "/" + name, namespacePath: namespacePath, removingMalformed: false) { header in
                    FileEntry.isExpired(header.expiresAt, at: now)
                }
            } else if name.hasPrefix(Self.temporaryPrefix) {
                try self.removeIfStale(directory + "/" + name, name: name)
            } else if let child = try self.childNamespace(named: name, in: directory, namespacePath: namespacePath) {
                try self.removeExpired(in: child)
            }
        }
    }

    /// Calls `visit` with each name of a namespace's directory, carrying on past failures and throwing the first
    /// one at the end, so that one bad file never stops a sweep.
    private func walk(_ namespacePath: String, _ visit: (_ directory: String, _ name: String) throws -> Void) throws {
        let directory = self.storage.directory(of: namespacePath)
        guard let cursor = try DirectoryCursor(path: directory) else { return }
        var firstError: (any Error)?
        try cursor.forEachPage { names in
            for name in names {
                do {
                    try visit(directory, name)
                } catch {
                    firstError = firstError ?? error
                }
            }
        }
        if let firstError { throw firstError }
    }

    /// The namespace path of a child namespace's directory, or `nil` when `name` is not one (a real directory whose
    /// name is a valid namespace name and `.ns`; never a symbolic link, so a walk never leaves the tree).
    private func childNamespace(named name: String, in directory: String, namespacePath: String) throws -> String? {
        guard name.hasSuffix(Self.namespaceSuffix) else { return nil }
        let namespace = String(name.dropLast(Self.namespaceSuffix.count))
        guard (try? StoreValidation.validateNamespace(namespace)) != nil,
            try FileSystem.isDirectory(directory + "/" + name)
        else { return nil }
        return namespacePath.isEmpty ? name : namespacePath + "/" + name
    }

    /// Removes an entry file under its key's lock when `shouldRemove` says so for the header read under the lock.
    ///
    /// A file that is not a valid entry has no key to lock: it is removed as it is when `removingMalformed` is set,
    /// left alone otherwise.
    private func removeEntry(
        _ path: String,
        namespacePath: String,
        removingMalformed: Bool,
        _ shouldRemove: (FileEntry.Header) -> Bool
    ) throws {
        let found: (header: FileEntry.Header, key: String)?
        do {
            found = try FileEntry.readHeader(at: path)
        } catch is FileEntry.Malformed {
            if removingMalformed { try self.removeFile(path) }
            return
        }
        guard let (header, key) = found, shouldRemove(header) else { return }
        let stripe = FileLockStripes.stripe(namespacePath: namespacePath, key: key)
        try self.storage.locks.withLock(stripe: stripe) {
            // Check again under the lock: the key may have been written since.
            let current: (header: FileEntry.Header, key: String)?
            do {
                current = try FileEntry.readHeader(at: path)
            } catch is FileEntry.Malformed {
                return
            }
            guard let (header, currentKey) = current, currentKey.utf8.elementsEqual(key.utf8), shouldRemove(header) else { return }
            try self.removeFile(path)
        }
    }

    /// Removes a temporary file whose writer is gone or which is older than an hour.
    ///
    /// Its name holds the writer's process id and PID namespace; a process of this namespace that no longer exists
    /// (`kill(pid, 0)` fails with `ESRCH`) will never rename it. A writer in another namespace (another container
    /// sharing the directory) cannot be checked, so only the age rule applies to it. The age is measured against the
    /// file's modification time, in real time.
    private func removeIfStale(_ path: String, name: String) throws {
        let fields = name.dropFirst(Self.temporaryPrefix.count).split(separator: "-", maxSplits: 1)
        let writer = fields.first?.split(separator: "@", maxSplits: 1) ?? []
        var stale = false
        if writer.count == 2, writer[1] == ProcessNamespace.current, let pid = pid_t(writer[0]), pid > 0, pid != getpid() {
            stale = kill(pid, 0) != 0 && errno == ESRCH
        }
        if !stale {
            guard let status = try FileSystem.linkStatus(path) else { return }
            #if canImport(Darwin)
            let modified = status.st_mtimespec.tv_sec
            #else
            let modified = status.st_mtim.tv_sec
            #endif
            stale = time(nil) - modified > Self.staleTemporaryFileAge
        }
        if stale { try FileSystem.removeFile(path) }
    }
}
