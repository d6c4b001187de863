public import NIOCore

/// A durable store: one file per key in a directory, safe to share between tasks and between processes.
///
/// Each entry is a small file named by the SHA-256 of its key, so any key is safe (no path traversal); it holds
/// the key, the value, an absolute expiry time and a checksum, and is written atomically (a temporary file renamed
/// into place, flushed first when ``Configuration/synchronizesWrites`` is set). Reads take no lock and never see
/// a half-written value. Writes of a key hold a file lock (`flock`) on one of 256 lock stripes, which makes
/// ``insert(_:value:expiresIn:)``, ``increment(_:by:initialValue:expiresIn:)`` and ``update(_:_:)`` atomic across
/// processes; a write waits at most ``Configuration/lockTimeout`` for a lock held elsewhere, then throws
/// ``StoreError/Code/timedOut``. A namespace is a subdirectory (`name.ns`, each capital letter written `^` and the
/// letter in lower case, so that names differing only in case never share a directory on a case-insensitive file
/// system: `Sessions` is `^sessions.ns`), made when first written to. Files and directories are created private to
/// the owner by default (``Configuration/filePermissions``).
///
/// A damaged, truncated or foreign file makes its key throw ``StoreError/Code/corruptEntry`` (``set(_:value:expiresIn:)``
/// or ``delete(_:)`` repairs it) and never affects other keys. File system failures throw
/// ``StoreError/Code/ioFailure``. Expired entries are removed when accessed, by ``deleteExpired()`` and, while the
/// store's ``service`` runs, every ``Configuration/sweepInterval``.
///
/// Operations run as work items on a thread pool (``Configuration/threadPool``), by default one Stash keeps for its
/// file I/O, apart from `NIOThreadPool.singleton`. An operation waiting for a lock holds no thread, and a sweep or
/// ``deleteAll()`` runs one work item per page of 256 directory entries, so neither can monopolise the pool.
///
/// ```swift
/// let root = try FileStore(directory: "/var/lib/myapp/stash")
/// let sessions = try root.withNamespace("sessions")
/// try await sessions.set("id", value: ByteBuffer(string: "data"), expiresIn: .seconds(3600))
/// ```
public struct FileStore<C: Clock>: Store where C.Instant == WallClock.Instant, C.Duration == Duration {
    let storage: FileStorage
    /// The namespace's directory relative to the root: `""` for the root, `"a.ns/^b.ns"` for a grandchild `B`.
    let namespacePath: String
    /// The clock that times expiry; its instants are wall-clock times, so other processes and later runs agree.
    public let clock: C
    /// The configuration the store was created with.
    public let configuration: Configuration

    /// Opens a store in a directory, timed by the system's wall clock.
    /// - Parameters:
    ///   - directory: The root directory; it and its parents are created when missing.
    ///   - configuration: Value limit, write flushing, file permissions, lock timeout, sweep interval and thread pool.
    /// - Throws: ``StoreError/Code/invalidConfiguration`` for settings the store cannot work with (see
    ///   ``Configuration``), ``StoreError/Code/ioFailure`` when the directory cannot be created or resolved.
    public init(directory: String, configuration: Configuration = .init()) throws where C == WallClock {
        try self.init(directory: directory, clock: WallClock(), configuration: configuration)
    }

    /// Opens a store in a directory, timed by the given clock (a manual clock in tests).
    /// - Parameters:
    ///   - directory: The root directory; it and its parents are created when missing.
    ///   - clock: The clock that times expiry. Expiry times are written as wall-clock milliseconds, so every process
    ///     sharing the directory should use a clock that agrees with the others.
    ///   - configuration: Value limit, write flushing, file permissions, lock timeout, sweep interval and thread pool.
    /// - Throws: ``StoreError/Code/invalidConfiguration`` for settings the store cannot work with (see
    ///   ``Configuration``), ``StoreError/Code/ioFailure`` when the directory cannot be created or resolved.
    public init(directory: String, clock: C, configuration: Configuration = .init()) throws {
        try configuration.validate()
        do {
            let mode = configuration.directoryMode
            try FileSystem.makeDirectories(directory, mode: mode, synchronize: configuration.synchronizesWrites)
            let root = try FileSystem.canonicalPath(directory)
            self.storage = FileStorage(root: root, fileMode: configuration.fileMode, directoryMode: mode)
            try FileSystem.makeDirectories(self.storage.locks.directory, mode: mode)
        } catch {
            throw error.storeError
        }
        self.namespacePath = ""
        self.clock = clock
        self.configuration = configuration
    }

    init(storage: FileStorage, namespacePath: String, clock: C, configuration: Configuration) {
        self.storage = storage
        self.namespacePath = namespacePath
        self.clock = clock
        self.configuration = configuration
    }

    /// The absolute path of this namespace's directory.
    public var directory: String {
        self.storage.directory(of: self.namespacePath)
    }

    /// The largest value accepted, in bytes: ``Configuration/maximumValueSize``.
    public var maximumValueSize: Int {
        self.configuration.maximumValueSize
    }

    /// `stash.file`, as traces name this kind of store (`db.system.name`).
    public var traceSystemName: String { "stash.file" }

    /// Returns the value stored for a key, reading its file without taking a lock.
    /// - Throws: ``StoreError/Code/corruptEntry`` when the key's file is damaged, ``StoreError/Code/ioFailure`` when
    ///   it cannot be read.
    public func get(_ key: String) async throws -> ByteBuffer? {
        try StoreValidation.validateKey(key)
        let path = self.entryPath(for: key)
        return try await self.perform(key: key, path: path) {
            try self.readLive(key, path: path)?.value
        }
    }

    /// Returns the value stored for a key and, when it has an expiry, rewrites its file with the new one, under the
    /// key's lock.
    public func get(_ key: String, renewingFor duration: Duration) async throws -> ByteBuffer? {
        try StoreValidation.validateKey(key)
        let milliseconds = try StoreValidation.validateExpiry(duration)
        let path = self.entryPath(for: key)
        return try await self.performLocked(key: key, path: path) {
            guard var entry = try self.readLocked(key, path: path) else { return nil }
            if entry.expiresAt != nil {
                entry.expiresAt = self.deadline(afterMilliseconds: milliseconds)
                try self.write(entry, to: path)
            }
            return entry.value
        }
    }

    /// Stores a value, replacing the key's file atomically; this also repairs a corrupt entry.
    public func set(_ key: String, value: ByteBuffer, expiresIn: Duration?) async throws {
        let milliseconds = try StoreValidation.validateWrite(key: key, value: value, expiresIn: expiresIn, maximumValueSize: self.maximumValueSize)
        let path = self.entryPath(for: key)
        try await self.performLocked(key: key, path: path) {
            try self.write(FileEntry(key: key, value: value, expiresAt: self.deadline(afterMilliseconds: milliseconds)), to: path)
        }
    }

    /// Stores a value only when the key is missing or has expired, atomically across processes.
    /// - Returns: `true` when the value was stored, `false` when a live value already existed.
    public func insert(_ key: String, value: ByteBuffer, expiresIn: Duration?) async throws -> Bool {
        let milliseconds = try StoreValidation.validateWrite(key: key, value: value, expiresIn: expiresIn, maximumValueSize: self.maximumValueSize)
        let path = self.entryPath(for: key)
        return try await self.performLocked(key: key, path: path) {
            guard try self.readLocked(key, path: path) == nil else { return false }
            try self.write(FileEntry(key: key, value: value, expiresAt: self.deadline(afterMilliseconds: milliseconds)), to: path)
            return true
        }
    }

    /// Removes a key's file, corrupt or not; removing a missing key is not an error.
    public func delete(_ key: String) async throws {
        try StoreValidation.validateKey(key)
        let path = self.entryPath(for: key)
        try await self.performLocked(key: key, path: path) { try self.removeFile(path) }
    }

    /// Returns whether a live value exists for a key.
    public func exists(_ key: String) async throws -> Bool {
        try StoreValidation.validateKey(key)
        let path = self.entryPath(for: key)
        return try await self.perform(key: key, path: path) {
            try self.readLive(key, path: path) != nil
        }
    }

    /// Returns whether a key is missing, never expires, or how long it has left, rounded up to the millisecond.
    public func expiry(of key: String) async throws -> KeyExpiry {
        try StoreValidation.validateKey(key)
        let path = self.entryPath(for: key)
        return try await self.perform(key: key, path: path) {
            guard let entry = try self.readLive(key, path: path) else { return .missing }
            guard let expiresAt = entry.expiresAt else { return .never }
            let remaining = self.clock.now.duration(to: WallClock.Instant(millisecondsSinceEpoch: expiresAt))
            return .expiresIn(.milliseconds(max(remaining.roundedUpToMilliseconds, 1)))
        }
    }

    /// Adds to a counter atomically across processes, creating it (with the expiry) when missing or expired.
    /// - Returns: The counter's value after the increment.
    public func increment(_ key: String, by amount: Int64, initialValue: Int64, expiresIn: Duration?) async throws -> Int64 {
        try StoreValidation.validateKey(key)
        let milliseconds = try StoreValidation.validateExpiry(expiresIn)
        let path = self.entryPath(for: key)
        return try await self.performLocked(key: key, path: path) {
            let current = try self.readLocked(key, path: path)
            let value = try StoreCounter.incremented(current?.value, by: amount, initialValue: initialValue, key: key)
            let expiresAt = current == nil ? self.deadline(afterMilliseconds: milliseconds) : current?.expiresAt
            try self.write(FileEntry(key: key, value: StoreCounter.encode(value), expiresAt: expiresAt), to: path)
            return value
        }
    }

    /// Reads, transforms and writes back one value atomically, across tasks and processes.
    ///
    /// `transform` runs exactly once per call, on a thread of ``Configuration/threadPool``, while the key's file lock
    /// is held: keep it short (the writes of this process to keys of the same lock stripe wait for it; those of other
    /// processes give up after their ``Configuration/lockTimeout``), and never let it wait for another operation of
    /// this store.
    public func update(
        _ key: String,
        _ transform: @escaping @Sendable (ByteBuffer?) throws -> StoreUpdate
    ) async throws -> ByteBuffer? {
        try StoreValidation.validateKey(key)
        let path = self.entryPath(for: key)
        return try await self.performLocked(key: key, path: path) {
            let current = try self.readLocked(key, path: path)
            let update = try transform(current?.value)
            let milliseconds = try StoreValidation.validateUpdate(update, maximumValueSize: self.maximumValueSize)
            switch update {
            case .unchanged:
                return current?.value
            case .delete:
                try self.removeFile(path)
                return nil
            case .set(let value, _):
                try self.write(FileEntry(key: key, value: value, expiresAt: self.deadline(afterMilliseconds: milliseconds)), to: path)
                return value
            case .setKeepingExpiry(let value):
                try self.write(FileEntry(key: key, value: value, expiresAt: current?.expiresAt), to: path)
                return value
            }
        }
    }

    /// Returns the child namespace `name`: the subdirectory `name.ns` (capital letters written `^` and the letter
    /// in lower case), made when the child is first written to.
    /// - Throws: ``StoreError/Code/invalidNamespace`` for a name other than 1 to 64 ASCII letters, digits, `_` or `-`.
    public func withNamespace(_ name: String) throws -> Self {
        try StoreValidation.validateNamespace(name)
        let child = Self.directoryName(ofNamespace: name)
        return Self(
            storage: self.storage,
            namespacePath: self.namespacePath.isEmpty ? child : self.namespacePath + "/" + child,
            clock: self.clock,
            configuration: self.configuration
        )
    }
}
