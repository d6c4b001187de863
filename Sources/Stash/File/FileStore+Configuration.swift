public import Logging
public import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension FileStore {
    /// How a file store checks values, writes files, waits for locks and sweeps, and which threads do its I/O.
    public struct Configuration: Sendable {
        /// The largest value accepted, in bytes.
        public var maximumValueSize: Int
        /// Whether each write is flushed to the device before it counts as done: the file before it is renamed into
        /// place, and the directory after. Slower, but a write survives a power loss, not only a process crash.
        public var synchronizesWrites: Bool
        /// The permission bits of the files the store creates (entries, temporary files, lock files); the
        /// directories it creates (the root and its missing parents, namespaces, `.locks`) get the same bits plus
        /// the search (execute) bit of each class that may read, so `0o600` gives `0o700` directories and `0o640`
        /// gives `0o750`.
        ///
        /// The default, `0o600`, keeps session data away from other local users. The process's umask may still clear
        /// bits; it never adds any. Existing files and directories keep their modes. The owner must be able to read
        /// and write (`0o600` at least), and only the nine permission bits may be set.
        public var filePermissions: UInt16
        /// How long an operation that writes a key waits for its lock, held by another process (or stuck), before
        /// throwing ``StoreError/Code/timedOut``; the default is 5 seconds. It counts from the call.
        ///
        /// Waiting holds no thread: the tasks of this process wanting one lock stripe take turns, in order, and on its
        /// turn a task tries the lock again every 50 µs to 5 ms, suspended in between. So a lock held elsewhere delays
        /// the keys of its stripe and nothing else. A task whose turn comes after its timeout (behind many writes of
        /// this process to the same stripe) still tries the lock once.
        public var lockTimeout: Duration
        /// How often the background sweep removes expired entries and stale temporary files while the store's
        /// ``FileStore/service`` runs.
        public var sweepInterval: Duration
        /// The thread pool the store's blocking file I/O runs on.
        ///
        /// By default a pool Stash keeps for itself, process-wide and never shut down, not `NIOThreadPool.singleton`,
        /// which NIO's own file I/O uses. A pool given here must be started, and must stay running while the store
        /// is used.
        public var threadPool: NIOThreadPool
        /// Where the background sweep reports a failed pass (at debug level) before trying again at the next interval.
        public var logger: Logger

        /// Creates a configuration.
        /// - Parameters:
        ///   - maximumValueSize: The largest value accepted, in bytes.
        ///   - synchronizesWrites: Whether to `fsync` each written file and its directory.
        ///   - filePermissions: The mode of created files; directories get the matching search bits.
        ///   - lockTimeout: How long a write waits for its key's lock before throwing ``StoreError/Code/timedOut``.
        ///   - sweepInterval: How often the background sweep runs.
        ///   - threadPool: Where the blocking file I/O runs; by default Stash's own shared pool.
        ///   - logger: Where a failed sweep is reported; by default nowhere.
        public init(
            maximumValueSize: Int = StoreLimits.defaultMaximumValueSize,
            synchronizesWrites: Bool = false,
            filePermissions: UInt16 = 0o600,
            lockTimeout: Duration = .seconds(5),
            sweepInterval: Duration = .seconds(60),
            threadPool: NIOThreadPool = .stash,
            logger: Logger = Logger(label: "Stash.FileStore", factory: { _ in SwiftLogNoOpLogHandler() })
        ) {
            self.maximumValueSize = maximumValueSize
            self.synchronizesWrites = synchronizesWrites
            self.filePermissions = filePermissions
            self.lockTimeout = lockTimeout
            self.sweepInterval = sweepInterval
            self.threadPool = threadPool
            self.logger = logger
        }

        /// The mode of the files the store creates.
        var fileMode: mode_t {
            mode_t(self.filePermissions)
        }

        /// The mode of the directories the store creates: the file mode plus a search bit for each read bit.
        var directoryMode: mode_t {
            mode_t(self.filePermissions | ((self.filePermissions & 0o444) >> 2))
        }

        /// Checks the settings a store cannot work with.
        func validate() throws(StoreError) {
            func invalid(_ reason: String) -> StoreError {
                StoreError(.invalidConfiguration, "invalid FileStore configuration: \(reason)")
            }
            let permissions = "0o" + String(self.filePermissions, radix: 8)
            guard self.maximumValueSize >= 0 else { throw invalid("maximumValueSize must not be negative, not \(self.maximumValueSize)") }
            guard self.sweepInterval > .zero else { throw invalid("sweepInterval must be positive, not \(self.sweepInterval)") }
            guard self.lockTimeout >= .zero else { throw invalid("lockTimeout must not be negative, not \(self.lockTimeout)") }
            guard self.filePermissions & ~0o777 == 0 else {
                throw invalid("filePermissions may only hold the nine permission bits, not \(permissions)")
            }
            guard self.filePermissions & 0o600 == 0o600 else {
                throw invalid("filePermissions must let the owner read and write, not \(permissions)")
            }
        }
    }
}
