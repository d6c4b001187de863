import Foundation
import NIOCore
import Stash
import StashTestSupport
import Synchronization
import Testing

/// Get-or-compute for application data, on every store: one computation per key among concurrent callers of an
/// instance, its value shared by every instance, its failures typed and never stored.
@Suite struct ValueCacheTests {
    struct Profile: Codable, Equatable, Sendable {
        var name: String
        var visits: Int
    }

    struct Failure: Error {}

    /// How many times a computation ran, shared by the tasks that call it.
    final class Runs: Sendable {
        private let count = Atomic<Int>(0)

        /// Counts a run; whether it is the first.
        func start() -> Bool { self.count.add(1, ordering: .relaxed).newValue == 1 }
        var total: Int { self.count.load(ordering: .relaxed) }
    }

    /// Waits (yielding, for at most 10 s) until `count` callers wait for the computation of `key`.
    static func waitForFollowers(_ cache: ValueCache, key: String, count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while cache.coalescer.waiterCount(for: key) < count {
            try #require(ContinuousClock.now < deadline, "only \(cache.coalescer.waiterCount(for: key)) of \(count) callers waited")
            await Task.yield()
        }
    }

    @Test func concurrentCallersThatMissComputeOnceAndEveryInstanceReadsTheValue() async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let cache = ValueCache(store: store)
            let runs = Runs()
            let profiles = try await withThrowingTaskGroup(of: Profile.self) { group in
                for _ in 0..<50 {
                    group.addTask {
                        try await cache.value(forKey: "profile:7", expiresIn: .seconds(60)) {
                            // The first computation holds until every other caller waits for it.
                            if runs.start() {
                                try await Self.waitForFollowers(cache, key: "profile:7", count: 49)
                            }
                            return Profile(name: "ada", visits: 1)
                        }
                    }
                }
                var profiles: [Profile] = []
                for try await profile in group { profiles.append(profile) }
                return profiles
            }
            #expect(runs.total == 1, "\(name): one computation for 50 callers")
            #expect(profiles.count == 50 && profiles.allSatisfy { $0 == Profile(name: "ada", visits: 1) }, "\(name)")

            // Another instance sharing the store reads it, without computing; it was stored with its expiry.
            let other = ValueCache(store: store)
            let read = try await other.value(forKey: "profile:7", as: Profile.self, expiresIn: .seconds(60)) {
                Issue.record("\(name): computed although stored")
                return Profile(name: "other", visits: 0)
            }
            #expect(read == Profile(name: "ada", visits: 1), "\(name)")
            guard case .expiresIn(let left) = try await store.expiry(of: "profile:7") else {
                Issue.record("\(name): stored without its expiry")
                continue
            }
            #expect(left <= .seconds(60), "\(name)")

            // Removed, it is computed again.
            try await other.remove("profile:7")
            let recomputed = try await other.value(forKey: "profile:7", expiresIn: nil) { Profile(name: "ada", visits: 2) }
            #expect(recomputed.visits == 2, "\(name)")
            #expect(try await store.expiry(of: "profile:7") == .never, "\(name): nil stores without expiry")
        }
    }

    @Test func aFailingComputationStoresNothingAndEveryCallerWaitingForItGetsTheSameTypedError() async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let cache = ValueCache(store: store)
            let runs = Runs()
            let errors = await withTaskGroup(of: (any Error)?.self) { group in
                for _ in 0..<10 {
                    group.addTask {
                        do {
                            _ = try await cache.value(forKey: "report", as: Int.self, expiresIn: .seconds(60)) {
                                if runs.start() {
                                    try await Self.waitForFollowers(cache, key: "report", count: 9)
                                }
                                throw Failure()
                            }
                            return nil
                        } catch {
                            return error
                        }
                    }
                }
                var errors: [(any Error)?] = []
                for await error in group { errors.append(error) }
                return errors
            }
            #expect(runs.total == 1, "\(name): the waiters share the failure, not retry it")
            let codes = errors.map { ($0 as? StoreError)?.code }
            #expect(codes.allSatisfy { $0 == .computationFailed }, "\(name): \(errors)")
            #expect(errors.allSatisfy { ($0 as? StoreError)?.underlying is Failure }, "\(name)")
            #expect(try await store.get("report") == nil, "\(name): nothing stored")
            #expect(try await cache.value(forKey: "report", expiresIn: .seconds(60)) { 42 } == 42, "\(name): the next caller computes")
        }
    }

    @Test func aStoredValueOfAnotherTypeIsComputedAgainAndBadKeysAreTheStoresErrors() async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let cache = ValueCache(store: store)
            try await store.set("profile:8", encoding: "a string from an older deploy")
            let profile = try await cache.value(forKey: "profile:8", expiresIn: .seconds(60)) { Profile(name: "grace", visits: 3) }
            #expect(profile.name == "grace", "\(name)")
            #expect(try await store.get("profile:8", as: Profile.self) == profile, "\(name): replaced")

            let error = await #expect(throws: StoreError.self) {
                _ = try await cache.value(forKey: "", expiresIn: .seconds(60)) {
                    Issue.record("\(name): computed for an invalid key")
                    return 1
                }
            }
            #expect(error?.code == .invalidKey, "\(name)")
            let huge = String(repeating: "x", count: store.maximumValueSize)  // two bytes too many as JSON
            let tooLarge = await #expect(throws: StoreError.self) {
                _ = try await cache.value(forKey: "huge", expiresIn: .seconds(60)) { huge }
            }
            #expect(tooLarge?.code == .valueTooLarge, "\(name): the store's own error")
        }
    }
}
