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

    /// The most directory entries one work item of a sweep (``deleteAll()``, ``deleteExpired()``) handles.
    static var sweepPageSize: Int { 256 }

    /// Removes every entry of this namespace and of its children, and the children's directories.
    ///
    /// Each entry is removed under its key's lock, so an update running at the same time either finishes before the
    /// removal or starts after it. Files that are not entries are left alone, except temporary files of dead writers;
    /// a child's directory that still holds such a file (or a write in flight) stays, empty of entries.
    ///
    /// The directories are read a page of 256 names at a time, one work item per page, so a huge namespace never
    /// holds a thread for long. A failure on one file does not stop the walk: the first error is thrown at the end.
    /// - Throws: ``StoreError/Code/timedOut`` when a key's lock stays busy past ``Configuration/lockTimeout`` (that
    ///   entry stays), ``StoreError/Code/ioFailure`` when a file cannot be read or removed.
    public func deleteAll() async throws {
        var busyStripes: Set<UInt8> = []
        try await self.sweep(self.namespacePath, removing: .all, busyStripes: &busyStripes)
    }

    /// Removes the expired entries of this namespace and of its children, and temporary files left by writers that
    /// died (their process is gone) or that are older than an hour.
    ///
    /// An entry is removed under its key's lock after its expiry is checked again, so a value written meanwhile
    /// survives. As in ``deleteAll()``, each page of 256 directory entries is one work item, and a failure on one file
    /// does not stop the sweep: the first error is thrown once the walk is done.
    public func deleteExpired() async throws {
        var busyStripes: Set<UInt8> = []
        try await self.sweep(self.namespacePath, removing: .expired, busyStripes: &busyStripes)
    }

    /// Which entries a sweep removes.
    enum Removal: Sendable {
        /// Every entry, files that are not valid entries too, and the emptied child directories.
        case all
        /// The entries expired at the time each is checked.
        case expired
    }

    /// What one page of a sweep leaves to do outside its work item.
    private struct SweepPage: Sendable {
        /// An entry to remove whose key's lock was busy.
        struct LockedEntry: Sendable {
            var path: String
            var key: String
        }

        /// A child namespace found on the page.
        struct Child: Sendable {
            var directoryName: String
            var namespacePath: String
        }

        var finished: Bool
        /// Entries removed next, each waiting for its lock as operations do: without holding a thread.
        var lockedEntries: [LockedEntry] = []
        /// Child namespaces, swept next (their directories are removed after them by ``Removal/all``).
        var children: [Child] = []
        var firstError: (any Error)?
    }

    /// Sweeps a namespace's directory and, depth first, its children's, a page of directory entries at a time.
    ///
    /// `busyStripes` are the stripes whose lock stayed busy past the timeout during this sweep: their other entries
    /// are left at once, so a stuck lock costs one timeout per sweep, not one per entry.
    private func sweep(_ namespacePath: String, removing removal: Removal, busyStripes: inout Set<UInt8>) async throws {
        let directory = self.storage.directory(of: namespacePath)
        guard let cursor = try await self.perform({ try DirectoryCursor(path: directory) }) else { return }
        var firstError: (any Error)?
        var finished = false
        while !finished {
            let page = try await self.perform { try self.sweepPage(cursor, namespacePath: namespacePath, removing: removal) }
            finished = page.finished
            firstError = firstError ?? page.firstError.map { Self.storeError($0) }
            for entry in page.lockedEntries {
                let stripe = FileLockStripes.stripe(namespacePath: namespacePath, key: entry.key)
                guard !busyStripes.contains(stripe) else { continue }
                do {
                    try await self.performLocked(stripe: stripe, key: entry.key, path: entry.path) {
                        try self.removeEntryLocked(entry.path, key: entry.key, removing: removal)
                    }
                } catch let error as StoreError where error.code == .timedOut {
                    busyStripes.insert(stripe)
                    firstError = firstError ?? error
                } catch {
                    firstError = firstError ?? error
                }
            }
            for child in page.children {
                do {
                    try await self.sweep(child.namespacePath, removing: removal, busyStripes: &busyStripes)
                    if removal == .all {
                        try await self.perform { try self.removeDirectory(directory + "/" + child.directoryName) }
                    }
                } catch {
                    firstError = firstError ?? error
                }
            }
        }
        if let firstError { throw firstError }
    }

    /// Reads and handles the next page of a directory: entries whose lock is free and stale temporary files are
    /// removed now; entries whose lock is busy and child namespaces are returned, for later work items.
    private func sweepPage(_ cursor: DirectoryCursor, namespacePath: String, removing removal: Removal) throws -> SweepPage {
        let (names, finished) = try cursor.next(maximumCount: Self.sweepPageSize)
        var page = SweepPage(finished: finished)
        for name in names {
            let path = cursor.path + "/" + name
            do {
                if Self.isEntryName(name) {
                    if let key = try self.removeEntryIfLockFree(path, namespacePath: namespacePath, removing: removal) {
                        page.lockedEntries.append(.init(path: path, key: key))
                    }
                } else if name.hasPrefix(Self.temporaryPrefix) {
                    try self.removeIfStale(path, name: name)
                } else if let child = try self.childNamespace(named: name, in: cursor.path, namespacePath: namespacePath) {
                    page.children.append(.init(directoryName: name, namespacePath: child))
                }
            } catch {
                page.firstError = page.firstError ?? error
            }
        }
        return page
    }

    /// Removes a directory emptied by a sweep; one still holding a stranger's file or a write in flight stays.
    ///
    /// The `rmdir` holds the namespaces lock exclusively, so it never lands between a write's making the directory
    /// and its creating a file there. When writes hold the lock, one of them is filling a directory: this one stays.
    private func removeDirectory(_ path: String) throws {
        let removed = try self.storage.locks.withNamespacesLockIfFree(exclusive: true, waitingUpTo: FileLockStripes.waitOnThread) {
            try FileSystem.removeDirectory(path)
        }
        if removed == true, self.configuration.synchronizesWrites {
            try FileSystem.synchronizeDirectory(FileSystem.parent(of: path))
        }
    }

    /// The namespace path of a child namespace's directory, or `nil` when `name` is not one (a real directory whose
    /// name is a namespace's directory name, ``directoryName(ofNamespace:)``; never a symbolic link, so a walk never
    /// leaves the tree).
    private func childNamespace(named name: String, in directory: String, namespacePath: String) throws -> String? {
        guard Self.namespace(ofDirectoryName: name) != nil, try FileSystem.isDirectory(directory + "/" + name) else { return nil }
        return namespacePath.isEmpty ? name : namespacePath + "/" + name
    }

    /// Whether a sweep removes an entry with this header, now.
    private func shouldRemove(_ header: FileEntry.Header, removing removal: Removal) -> Bool {
        switch removal {
        case .all: true
        case .expired: FileEntry.isExpired(header.expiresAt, at: self.nowInMilliseconds)
        }
    }

    /// Removes an entry file under its key's lock when the sweep removes it and the lock is free now (or within
    /// ``FileLockStripes/waitOnThread``).
    ///
    /// A file that is not a valid entry has no key to lock: ``Removal/all`` removes it as it is, ``Removal/expired``
    /// leaves it alone.
    /// - Returns: The entry's key when it is to be removed but its lock is busy, `nil` otherwise.
    private func removeEntryIfLockFree(_ path: String, namespacePath: String, removing removal: Removal) throws -> String? {
        let found: (header: FileEntry.Header, key: String)?
        do {
            found = try FileEntry.readHeader(at: path)
        } catch is FileEntry.Malformed {
            if removal == .all { try self.removeFile(path) }
            return nil
        }
        guard let (header, key) = found, self.shouldRemove(header, removing: removal) else { return nil }
        let stripe = FileLockStripes.stripe(namespacePath: namespacePath, key: key)
        let removed: Void? = try self.storage.locks.withLockIfFree(stripe: stripe, waitingUpTo: FileLockStripes.waitOnThread) {
            try self.removeEntryLocked(path, key: key, removing: removal)
        }
        return removed == nil ? key : nil
    }

    /// Removes an entry file, holding its key's lock, after checking again that it still holds that key and is to be
    /// removed: the key may have been written since it was first read.
    private func removeEntryLocked(_ path: String, key: String, removing removal: Removal) throws {
        let current: (header: FileEntry.Header, key: String)?
        do {
            current = try FileEntry.readHeader(at: path)
        } catch is FileEntry.Malformed {
            return
        }
        guard let (header, currentKey) = current, currentKey.utf8.elementsEqual(key.utf8), self.shouldRemove(header, removing: removal) else {
            return
        }
        try self.removeFile(path)
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
