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
                try FileStore(directory: directory, clock: clock, configuration: .init(maximumValueSize: 1024 * 1024))
            }.run(check)
        }
    }

    @Test(arguments: [StoreConformance<FileStore<WallClock>>.Check.expiry, .renewal, .increment, .concurrentUpdates])
    func realTime(_ check: StoreConformance<FileStore<WallClock>>.Check) async throws {
        try await withFileStoreDirectory { directory in
            try await StoreConformance {
                try FileStore(directory: directory, configuration: .init(maximumValueSize: 1024 * 1024))
            }.run(check)
        }
    }

    @Test func synchronizedWritesConform() async throws {
        try await withFileStoreDirectory { directory in
            let clock = ManualClock()
            try await Conformance(clock: clock) {
                // A fresh namespace per check: the suite needs an empty store each time.
                try FileStore(directory: directory, clock: clock, configuration: .init(maximumValueSize: 1024 * 1024, synchronizesWrites: true))
                    .withNamespace("check\(UUID().uuidString.prefix(8))")
            }.run()
        }
    }
}
