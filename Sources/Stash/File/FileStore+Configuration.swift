public import Logging

extension FileStore {
    /// How a file store checks values, writes files and sweeps.
    public struct Configuration: Sendable {
        /// The largest value accepted, in bytes.
        public var maximumValueSize: Int
        /// Whether each write is flushed to the device before it counts as done: the file before it is renamed into
        /// place, and the directory after. Slower, but a write survives a power loss, not only a process crash.
        public var synchronizesWrites: Bool
        /// How often the background sweep removes expired entries and stale temporary files while the store runs
        /// as a `Service`.
        public var sweepInterval: Duration
        /// Where the background sweep reports a failed pass (at debug level) before trying again at the next interval.
        public var logger: Logger

        /// Creates a configuration.
        /// - Parameters:
        ///   - maximumValueSize: The largest value accepted, in bytes.
        ///   - synchronizesWrites: Whether to `fsync` each written file and its directory.
        ///   - sweepInterval: How often the background sweep runs.
        ///   - logger: Where a failed sweep is reported; by default nowhere.
        public init(
            maximumValueSize: Int = StoreLimits.defaultMaximumValueSize,
            synchronizesWrites: Bool = false,
            sweepInterval: Duration = .seconds(60),
            logger: Logger = Logger(label: "Stash.FileStore", factory: { _ in SwiftLogNoOpLogHandler() })
        ) {
            self.maximumValueSize = maximumValueSize
            self.synchronizesWrites = synchronizesWrites
            self.sweepInterval = sweepInterval
            self.logger = logger
        }
    }
}
