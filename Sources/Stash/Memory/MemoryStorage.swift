/// The storage a ``MemoryStore`` and all its namespaces share.
///
/// Not generic over the clock, so a store reaches its state without generic metadata on every call.
@usableFromInline
final class MemoryStorage: Sendable {
    @usableFromInline let state: Locked<MemoryState>
    /// The owner of the service (the sweep) the store and its namespaces share.
    let serviceOwner = StoreService.Owner("a MemoryStore")

    /// Creates storage timed by a clock; tick 0 of its state is the clock's reading now.
    init<C: Clock>(clock: C, maximumEntries: Int?, maximumBytes: Int?) where C.Duration == Duration {
        let origin = clock.now
        let now: @Sendable () -> MemoryState.Ticks
        if let continuousOrigin = origin as? ContinuousClock.Instant {
            // The default clock, read without going through generic witnesses.
            now = { continuousOrigin.duration(to: ContinuousClock.Instant.now).nanoseconds }
        } else {
            now = { origin.duration(to: clock.now).nanoseconds }
        }
        // Rate-limit state must mean the same in a snapshot loaded by another process, so it is timed on the wall
        // clock: its reading at tick 0 (the clock's own reading when it reads wall-clock time, as a manual clock in
        // tests does), plus the ticks. One addition per decision, no second clock read.
        let wallOrigin = ((origin as? WallClock.Instant) ?? WallClock().now).sinceEpoch.nanoseconds
        self.state = Locked(MemoryState(now: now, wallOrigin: wallOrigin, maximumEntries: maximumEntries, maximumBytes: maximumBytes))
    }
}

extension Duration {
    /// The duration in whole nanoseconds, rounded down (saturating far beyond any store's expiry range).
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = self.components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return seconds < 0 ? .min : .max }
        return scaled + attoseconds / 1_000_000_000
    }
}
