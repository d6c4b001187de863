import Stash
import StashTesting
import Testing

@Suite struct MemoryStoreConformanceTests {
    typealias Conformance = StoreConformance<MemoryStore<ManualClock>>

    @Test(arguments: Conformance.Check.allCases)
    func conformanceWithManualClock(_ check: Conformance.Check) async throws {
        let clock = ManualClock()
        try await Conformance(clock: clock) {
            try MemoryStore(clock: clock, configuration: .init(maximumValueSize: 1024 * 1024))
        }.run(check)
    }

    @Test(arguments: [StoreConformance<MemoryStore<ContinuousClock>>.Check.expiry, .renewal, .increment])
    func realTimeExpiry(_ check: StoreConformance<MemoryStore<ContinuousClock>>.Check) async throws {
        try await StoreConformance { MemoryStore() }.run(check)
    }

    @Test func boundedStoreStillConforms() async throws {
        let clock = ManualClock()
        // Bounds far above what the checks write: eviction must not change the contract.
        try await Conformance(clock: clock) {
            try MemoryStore(
                clock: clock,
                configuration: .init(maximumEntries: 100_000, maximumBytes: 64 * 1024 * 1024, maximumValueSize: 1024 * 1024)
            )
        }.run()
    }
}
