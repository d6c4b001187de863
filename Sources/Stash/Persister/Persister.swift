import Logging
import NIOCore
import NIOPosix
public import ServiceLifecycle

/// Keeps a ``MemoryStore`` in a file, so the embedded default store survives a restart or a deploy.
///
/// ``save()`` writes a snapshot of every live entry of the store (the namespace it was given and its children) to
/// one file, atomically; ``load()`` reads it back, dropping entries that expired meanwhile. Expiry is kept as
/// absolute wall-clock time. Run as a `Service`, a persister also works by itself: it saves after changes
/// (``Configuration/autoSave``), at most once per ``Configuration/saveInterval``, and once more at graceful
/// shutdown; and it loads the snapshots another process writes to the file (``Configuration/autoLoad``), never the
/// ones it wrote itself. A save and a load never run at the same time.
///
/// ```swift
/// let store = MemoryStore()
/// let persister = Persister(store: store, path: "/var/lib/myapp/stash.snapshot", configuration: .init(autoSave: true))
/// try await persister.load()              // what the last run saved
/// // add `persister` (and the store) to the application's services
/// ```
///
/// Automatic saving saves changes made after the persister was created (so a store that was never loaded or written
/// does not overwrite the file with nothing); call ``save()`` to write what the store held before.
///
/// Learning that the store changed costs its write path nothing: the store counts changes under the lock it
/// already takes, and the persister reads that count once per interval.
public final class Persister<C: Clock>: Service, Sendable where C.Duration == Duration {
    private struct State {
        var autoSave: Bool
        var autoLoad: Bool
        /// The store's change count when its contents last matched the file (a save, or a load).
        var savedChanges: UInt64?
        /// The file this persister last wrote or loaded.
        var knownFile: SnapshotFile.Identity?
    }

    /// The store (namespace) persisted.
    public let store: MemoryStore<C>
    /// The snapshot file's path.
    public let path: String
    /// The configuration the persister was created with.
    public let configuration: Configuration

    private let file: SnapshotFile
    private let writer: [UInt8]
    private let state: Locked<State>
    /// Held for the whole of each save and load (on the blocking pool), so the two never overlap.
    private let io = Locked(())

    /// Creates a persister for a store and a file; nothing is read or written until asked or run.
    /// - Parameters:
    ///   - store: The store to persist: the namespace given and all its children.
    ///   - path: The snapshot file; its directory must exist.
    ///   - configuration: Automatic saving and loading, and how files are written and read.
    public init(store: MemoryStore<C>, path: String, configuration: Configuration = .init()) {
        self.store = store
        self.path = path
        self.configuration = configuration
        self.file = SnapshotFile(
            path: path,
            synchronizesWrites: configuration.synchronizesWrites,
            maximumSize: configuration.maximumSnapshotSize
        )
        var generator = SystemRandomNumberGenerator()
        self.writer = (0..<Snapshot.writerLength).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        // Changes count from now: an application that forgets to load never has its previous snapshot overwritten by
        // an empty store. Contents already in the store are saved with the next change, or by an explicit save().
        self.state = Locked(State(autoSave: configuration.autoSave, autoLoad: configuration.autoLoad, savedChanges: store.changeCount))
    }

    /// Writes a snapshot of every live entry to the file, atomically (a temporary file renamed into place).
    /// - Throws: ``StoreError/Code/ioFailure`` when the file cannot be written; the previous snapshot is then intact.
    public func save() async throws {
        try await self.perform { try self.saveNow() }
    }

    /// Reads the snapshot into the store: replacing or merging, as ``Configuration/loadMode`` says.
    ///
    /// Entries that expired since the snapshot was written are dropped. A missing file is an empty snapshot.
    /// - Throws: ``StoreError/Code/corruptSnapshot`` for an empty, truncated, damaged or foreign file,
    ///   ``StoreError/Code/unsupportedSnapshotVersion`` for a newer format, ``StoreError/Code/ioFailure`` when it
    ///   cannot be read. The store is unchanged when it throws.
    public func load() async throws {
        try await self.perform { try self.loadNow(skippingOwnSnapshots: false) }
    }

    /// Starts saving after changes while ``run()`` runs.
    public func startAutoSave() { self.state.withLock { $0.autoSave = true } }
    /// Stops saving after changes (a save in flight completes).
    public func stopAutoSave() { self.state.withLock { $0.autoSave = false } }
    /// Starts loading the snapshots other processes write while ``run()`` runs.
    public func startAutoLoad() { self.state.withLock { $0.autoLoad = true } }
    /// Stops loading other processes' snapshots (a load in flight completes).
    public func stopAutoLoad() { self.state.withLock { $0.autoLoad = false } }
    /// Whether automatic saving is on.
    public var isAutoSaving: Bool { self.state.withLock { $0.autoSave } }
    /// Whether automatic loading is on.
    public var isAutoLoading: Bool { self.state.withLock { $0.autoLoad } }

    /// Runs automatic saving and loading, as switched on, until graceful shutdown or cancellation; then, when
    /// automatic saving is on and the store changed since the last save, saves once more.
    ///
    /// A failed automatic save or load is logged to ``Configuration/logger`` and tried again at the next interval.
    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                try await withThrowingDiscardingTaskGroup { group in
                    group.addTask { try await self.every(self.configuration.saveInterval) { try await self.saveIfChanged() } }
                    group.addTask { try await self.every(self.configuration.loadInterval) { try await self.loadIfReplaced() } }
                }
            }
        } catch is CancellationError {
            // Shutdown: the loops end here.
        }
        if self.isAutoSaving {
            try await self.saveIfChanged()
        }
    }

    // MARK: Steps

    private func every(_ interval: Duration, _ step: @Sendable () async throws -> Void) async throws {
        while true {
            try await self.store.clock.sleep(for: interval)
            do {
                try await step()
            } catch let error as CancellationError {
                throw error
            } catch {
                self.configuration.logger.debug("Persister: automatic save or load failed", metadata: ["path": "\(self.path)", "error": "\(error)"])
            }
        }
    }

    private func saveIfChanged() async throws {
        guard self.isAutoSaving else { return }
        let saved = self.state.withLock { $0.savedChanges }
        guard saved != self.store.changeCount else { return }
        try await self.perform { try self.saveNow() }
    }

    private func loadIfReplaced() async throws {
        guard self.isAutoLoading else { return }
        try await self.perform {
            guard let current = try self.file.currentIdentity(), current != self.state.withLock({ $0.knownFile }) else { return }
            try self.loadNow(skippingOwnSnapshots: true)
        }
    }

    /// Runs one save or load on Stash's file I/O pool (the one ``FileStore`` uses by default, apart from
    /// `NIOThreadPool.singleton`), holding the I/O lock, with file errors as ``StoreError``s.
    private func perform(_ body: @escaping @Sendable () throws -> Void) async throws {
        try await NIOThreadPool.stash.runIfActive {
            try self.io.withLock { _ in
                do {
                    try body()
                } catch let error as FileSystemError {
                    throw error.storeError
                }
            }
        }
    }

    private func saveNow() throws {
        let (entries, changes) = self.store.snapshot()
        let now = self.store.wallClockNow.millisecondsSinceEpoch
        let snapshot = Snapshot(
            writer: self.writer,
            entries: entries.map { entry in
                Snapshot.Entry(
                    namespace: entry.namespace,
                    key: entry.key,
                    value: entry.value,
                    expiresAt: entry.remaining.map { now + Duration.nanoseconds($0).roundedUpToMilliseconds }
                )
            }
        )
        let identity = try self.file.write(snapshot.encoded())
        self.state.withLock { state in
            state.savedChanges = changes
            state.knownFile = identity
        }
    }

    private func loadNow(skippingOwnSnapshots: Bool) throws {
        guard let (contents, identity) = try self.file.read() else {
            // No file: an empty snapshot.
            if self.configuration.loadMode == .replace {
                let changes = self.store.restore([], replacing: true)
                self.state.withLock { $0.savedChanges = changes }
            }
            return
        }
        let snapshot: Snapshot
        do {
            if skippingOwnSnapshots, try Snapshot.writer(of: contents) == self.writer {
                self.state.withLock { $0.knownFile = identity }
                return
            }
            snapshot = try Snapshot.decode(contents)
        } catch {
            // Which file, for whoever reads the error: a process may persist several stores.
            throw StoreError(error.code, "\(self.path): \(error.message)", underlying: error.underlying)
        }
        let now = self.store.wallClockNow.millisecondsSinceEpoch
        let entries = snapshot.entries.compactMap { entry -> MemoryState.SnapshotEntry? in
            var remaining: MemoryState.Ticks?
            if let expiresAt = entry.expiresAt {
                guard expiresAt > now else { return nil }
                remaining = (expiresAt - now) * 1_000_000
            }
            return MemoryState.SnapshotEntry(namespace: entry.namespace, key: entry.key, value: entry.value, remaining: remaining)
        }
        let changes = self.store.restore(entries, replacing: self.configuration.loadMode == .replace)
        self.state.withLock { state in
            state.savedChanges = changes
            state.knownFile = identity
        }
    }
}
