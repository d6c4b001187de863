import Logging
public import ServiceLifecycle

extension FileStore: Service {
    /// Sweeps expired entries and stale temporary files from the whole directory tree (from the root, whichever
    /// namespace is run) every ``Configuration/sweepInterval`` until graceful shutdown or cancellation.
    ///
    /// One sweep loop runs per root directory in a process: running several namespaces of one root, or several
    /// stores opened on the same directory, runs one sweep, and the others wait for shutdown. Other processes
    /// sharing the directory sweep it too, which is safe: every removal is checked again under the key's lock.
    ///
    /// A pass that fails (a file system error) is logged to ``Configuration/logger`` at debug level and the next
    /// pass tries again: a passing failure, such as running out of descriptors, must not end the application.
    /// Call ``deleteExpired()`` to see such an error yourself.
    public func run() async throws {
        let root = Self(storage: self.storage, namespacePath: "", clock: self.clock, configuration: self.configuration)
        try await SweepLoop.run(
            clock: self.clock,
            every: self.configuration.sweepInterval,
            claim: self.storage.claimSweep,
            release: self.storage.releaseSweep,
            pass: {
                do {
                    try await root.deleteExpired()
                } catch {
                    root.configuration.logger.debug(
                        "FileStore sweep failed; retrying at the next interval",
                        metadata: ["directory": "\(root.directory)", "error": "\(error)"]
                    )
                }
            }
        )
    }
}
