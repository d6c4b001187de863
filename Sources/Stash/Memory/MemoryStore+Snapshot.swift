extension MemoryStore {
    /// How many changes the store's storage has seen: a ``Persister`` compares it with the count it last saved.
    var changeCount: UInt64 {
        self.storage.state.withLock { $0.changes }
    }

    /// The live entries of this namespace and its children, taken in one lock hold so they are consistent.
    func snapshot() -> (entries: [MemoryState.SnapshotEntry], changes: UInt64) {
        self.storage.state.withLock { $0.snapshot(of: self.space) }
    }

    /// Writes a snapshot's entries into this namespace, in one lock hold so readers see the old or the new contents.
    /// - Returns: The change count after the restore.
    func restore(_ entries: [MemoryState.SnapshotEntry], replacing: Bool) -> UInt64 {
        self.storage.state.withLock { $0.restore(entries, into: self.space, replacing: replacing) }
    }

    /// Now, as a wall-clock time, on the timeline the store keeps rate-limit state on (``MemoryState/wallNow``).
    /// Snapshots hold expiry as absolute wall-clock times so that they survive a restart.
    var wallClockNow: WallClock.Instant {
        WallClock.Instant(sinceEpoch: .nanoseconds(self.storage.state.withLock { $0.wallNow }))
    }
}
