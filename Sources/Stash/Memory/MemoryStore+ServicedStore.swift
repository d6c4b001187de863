extension MemoryStore: ServicedStore {
    /// Sweeps expired entries from the whole storage — the root and every namespace — every
    /// ``Configuration/sweepInterval`` until graceful shutdown or cancellation. Every namespace of one store has the
    /// same service: run it once.
    public var service: StoreService {
        let root = Self(storage: self.storage, space: 0, clock: self.clock, configuration: self.configuration)
        return StoreService(owner: self.storage.serviceOwner) {
            try await SweepLoop.run(clock: root.clock, every: root.configuration.sweepInterval) { root.removeExpired() }
        }
    }
}
