public import ServiceLifecycle

extension MemoryStore: Service {
    /// Sweeps expired entries from the whole storage every ``Configuration/sweepInterval`` until graceful shutdown
    /// or cancellation.
    ///
    /// Running several namespaces of one storage runs one sweep: the others wait for shutdown.
    public func run() async throws {
        let root = Self(storage: self.storage, space: 0, clock: self.clock, configuration: self.configuration)
        try await SweepLoop.run(
            clock: self.clock,
            every: self.configuration.sweepInterval,
            claim: self.storage.claimSweep,
            release: self.storage.releaseSweep,
            pass: { root.removeExpired() }
        )
    }
}
