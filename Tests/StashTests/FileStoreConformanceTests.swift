import Foundation
import Stash
import StashTesting
import Testing

@Suite struct FileStoreConformanceTests {
    typealias Conformance = StoreConformance<FileStore<ManualClock>>

    @Test(arguments: Conformance.Check.allCases)
    func conformanceWithManualClock(_ check: Conformance.Check) async throws {
        try await withFileStoreDirectory { directory in
            let clock = ManualClock()
            try await Conformance(clock: clock) {
                try FileStore(directory: directory, clock: clock, configuration: Self.configuration())
            }.run(check)
        }
    }

    @Test(arguments: [StoreConformance<FileStore<WallClock>>.Check.expiry, .renewal, .increment, .concurrentUpdates])
    func realTime(_ check: StoreConformance<FileStore<WallClock>>.Check) async throws {
        try await withFileStoreDirectory { directory in
            try await StoreConformance {
                try FileStore(directory: directory, configuration: Self.configuration())
            }.run(check)
        }
    }

    @Test func synchronizedWritesConform() async throws {
        try await withFileStoreDirectory { directory in
            let clock = ManualClock()
            try await Conformance(clock: clock) {
                // A fresh namespace per check: the suite needs an empty store each time.
                try FileStore(directory: directory, clock: clock, configuration: Self.configuration(synchronizesWrites: true))
                    .withNamespace("check\(UUID().uuidString.prefix(8))")
            }.run()
        }
    }

    /// Values up to 1 MiB, and a lock timeout long enough for the checks' contended keys on a busy machine: the
    /// checks assert what is stored, and the polled lock may leave one waiter behind the others for seconds under
    /// load (the timeout itself has tests of its own).
    static func configuration<C>(synchronizesWrites: Bool = false) -> FileStore<C>.Configuration {
        .init(maximumValueSize: 1024 * 1024, synchronizesWrites: synchronizesWrites, lockTimeout: .seconds(120))
    }
}
