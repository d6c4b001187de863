package import Hummingbird
import Stash
import StashTesting
import Testing

/// What Hummingbird's persist API promises, checked on one driver: the same checks for every store.
package enum PersistDriverChecks {
    /// Runs the checks on `persist`, whose store starts empty of the keys `a`, `t` and `n`; `name` labels failures.
    package static func run(_ persist: some PersistDriver, name: String) async throws {
        try await persist.create(key: "a", value: "one", expires: nil)
        await #expect(throws: PersistError.duplicate, "\(name)") { try await persist.create(key: "a", value: "two", expires: nil) }
        #expect(try await persist.get(key: "a", as: String.self) == "one", "\(name)")
        await #expect(throws: PersistError.invalidConversion, "\(name)") { _ = try await persist.get(key: "a", as: Int.self) }

        try await persist.set(key: "t", value: 1, expires: .seconds(60))
        try await persist.set(key: "t", value: 2, expires: nil)
        let kept = try #require(try await persist.getWithTTL(key: "t", as: Int.self), "\(name)")
        #expect(kept.object == 2, "\(name)")
        // Kept, not dropped: a set that forgot the expiry would leave none.
        #expect(kept.ttl.map { $0 > .zero && $0 <= .seconds(60) } == true, "\(name): set without expiry keeps it: \(String(describing: kept.ttl))")
        try await persist.set(key: "n", value: 3, expires: nil)
        #expect(try await persist.getWithTTL(key: "n", as: Int.self).map { $0.ttl == nil } == true, "\(name)")

        try await persist.remove(key: "a")
        #expect(try await persist.get(key: "a", as: String.self) == nil, "\(name)")
        await expectStoreError([.invalidKey], "\(name): an empty key") { try await persist.set(key: "", value: 1, expires: nil) }
    }
}
