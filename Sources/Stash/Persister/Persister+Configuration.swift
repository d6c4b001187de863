public import Logging

extension Persister {
    /// What ``Persister/load()`` does with what the store holds.
    public enum LoadMode: Sendable, Hashable {
        /// The store (the persisted namespace and its children) ends up holding exactly the snapshot.
        case replace
        /// The snapshot's entries are written over the store's; keys the snapshot lacks are kept.
        case merge
    }

    /// When a persister saves and loads by itself, and how.
    public struct Configuration: Sendable {
        /// Whether ``Persister/run()`` saves after changes from the start (see ``Persister/startAutoSave()``).
        public var autoSave: Bool
        /// Whether ``Persister/run()`` loads snapshots other processes write from the start
        /// (see ``Persister/startAutoLoad()``).
        public var autoLoad: Bool
        /// How often automatic saving looks for changes: at most one save per interval, within one interval of a
        /// change.
        public var saveInterval: Duration
        /// How often automatic loading looks for a snapshot written by someone else.
        public var loadInterval: Duration
        /// What a load does with the store's current contents.
        public var loadMode: LoadMode
        /// Whether each save is flushed to the device (file and directory) before it counts as done.
        public var synchronizesWrites: Bool
        /// The largest snapshot file read; a bigger file is refused as corrupt.
        public var maximumSnapshotSize: Int
        /// Where a failed automatic save or load is reported (at debug level) before the next attempt.
        public var logger: Logger

        /// Creates a configuration.
        /// - Parameters:
        ///   - autoSave: Whether to save after changes while running.
        ///   - autoLoad: Whether to load other processes' snapshots while running.
        ///   - saveInterval: How often automatic saving looks for changes.
        ///   - loadInterval: How often automatic loading looks at the file.
        ///   - loadMode: Whether a load replaces the store's contents or merges into them.
        ///   - synchronizesWrites: Whether to `fsync` each snapshot and its directory.
        ///   - maximumSnapshotSize: The largest snapshot file read, in bytes.
        ///   - logger: Where failed automatic saves and loads are reported; by default nowhere.
        public init(
            autoSave: Bool = false,
            autoLoad: Bool = false,
            saveInterval: Duration = .seconds(1),
            loadInterval: Duration = .seconds(1),
            loadMode: LoadMode = .replace,
            synchronizesWrites: Bool = true,
            maximumSnapshotSize: Int = 4 * 1024 * 1024 * 1024,
            logger: Logger = Logger(label: "Stash.Persister", factory: { _ in SwiftLogNoOpLogHandler() })
        ) {
            self.autoSave = autoSave
            self.autoLoad = autoLoad
            self.saveInterval = saveInterval
            self.loadInterval = loadInterval
            self.loadMode = loadMode
            self.synchronizesWrites = synchronizesWrites
            self.maximumSnapshotSize = maximumSnapshotSize
            self.logger = logger
        }
    }
}
