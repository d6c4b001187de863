public import ServiceLifecycle

extension MemoryStore: Service {
    /// Sweeps expired entries from the whole storage every ``Configuration/sweepInterval`` until graceful shutdown
    /// or cancellation.
    ///
    /// Running several namespaces of one storage runs one sweep: the others wait for shutdown.
    public func run() async throws {
        guard self.storage.claimSweep() else {
            try? await gracefulShutdown()
            return
        }
        defer { self.storage.releaseSweep() }
        let root = Self(storage: self.storage, space: 0, clock: self.clock, configuration: self.configuration)
        do {
            try await cancelWhenGracefulShutdown {
                while true {
                    try await self.clock.sleep(for: self.configuration.sweepInterval)
                    root.removeExpired()
                }
            }
        } catch is CancellationError {
            // Shutdown: the loop ends here.
        }
    }
}
