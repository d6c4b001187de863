public import ServiceLifecycle

extension FileStore: Service {
    /// Sweeps expired entries and stale temporary files from the whole directory tree (from the root, whichever
    /// namespace is run) every ``Configuration/sweepInterval`` until graceful shutdown or cancellation.
    ///
    /// One sweep loop runs per root directory in a process: running several namespaces of one root, or several
    /// stores opened on the same directory, runs one sweep, and the others wait for shutdown. Other processes
    /// sharing the directory sweep it too, which is safe: every removal is checked again under the key's lock.
    /// - Throws: The sweep's error (``StoreError/Code/ioFailure``), ending the service, when the directory cannot be
    ///   swept.
    public func run() async throws {
        guard self.storage.claimSweep() else {
            try? await gracefulShutdown()
            return
        }
        defer { self.storage.releaseSweep() }
        let root = Self(storage: self.storage, namespacePath: "", clock: self.clock, configuration: self.configuration)
        do {
            try await cancelWhenGracefulShutdown {
                while true {
                    try await self.clock.sleep(for: self.configuration.sweepInterval)
                    try await root.deleteExpired()
                }
            }
        } catch is CancellationError {
            // Shutdown: the loop ends here.
        }
    }
}
