import Logging

extension FileStore: ServicedStore {
    /// Sweeps expired entries and stale temporary files from the whole directory tree (from the root, whichever
    /// namespace asks) every ``Configuration/sweepInterval`` until graceful shutdown or cancellation. Every namespace
    /// of one store has the same service: run it once.
    ///
    /// Other processes, and other stores opened on the same directory, may sweep it too, which is safe: every removal
    /// is checked again under the key's lock.
    ///
    /// A pass that fails (a file system error) is logged to ``Configuration/logger`` at debug level and the next
    /// pass tries again: a passing failure, such as running out of descriptors, must not end the application.
    /// Call ``deleteExpired()`` to see such an error yourself.
    public var service: StoreService {
        let root = Self(storage: self.storage, namespacePath: "", clock: self.clock, configuration: self.configuration)
        return StoreService(owner: self.storage.serviceOwner) {
            try await SweepLoop.run(clock: root.clock, every: root.configuration.sweepInterval) {
                do {
                    try await root.deleteExpired()
                } catch {
                    root.configuration.logger.debug(
                        "FileStore sweep failed; retrying at the next interval",
                        metadata: ["directory": "\(root.directory)", "error": "\(error)"]
                    )
                }
            }
        }
    }
}
