import NIOCore
import ServiceLifecycle
import Stash
import StashTesting
import Testing

@Suite struct MemoryStoreTests {
    @Test func evictsLeastRecentlyUsedBeyondMaximumEntries() async throws {
        let store = try MemoryStore(configuration: .init(maximumEntries: 3))
        for key in ["a", "b", "c"] {
            try await store.set(key, value: ByteBuffer(string: key))
        }
        _ = try await store.get("a")  // a is now more recent than b
        try await store.set("d", value: ByteBuffer(string: "d"))
        #expect(try await store.get("b") == nil, "b was the least recently used")
        #expect(try await store.get("a") == ByteBuffer(string: "a"))
        #expect(try await store.get("c") == ByteBuffer(string: "c"))
        #expect(try await store.get("d") == ByteBuffer(string: "d"))
        #expect(store.count == 3)
    }

    @Test func evictsBeyondMaximumBytesAcrossNamespaces() async throws {
        // Each entry is a 1-byte key plus a 10-byte value.
        let root = try MemoryStore(configuration: .init(maximumBytes: 33))
        let child = try root.withNamespace("child")
        let ten = ByteBuffer(string: "0123456789")
        try await root.set("a", value: ten)
        try await child.set("b", value: ten)
        try await root.set("c", value: ten)
        #expect(root.count == 3)
        try await child.set("d", value: ten)
        #expect(root.count == 3, "the bound covers every namespace of the storage")
        #expect(try await root.get("a") == nil, "the oldest entry, in another namespace, was evicted")
        #expect(try await child.get("b") == ten)
        try await root.set("c", value: ByteBuffer(string: "01234567890123456789"))
        #expect(try await child.get("d") == nil, "growing a value evicts the least recent other entry (b was just read)")
        #expect(try await child.get("b") == ten)
        #expect(try await root.get("c") == ByteBuffer(string: "01234567890123456789"))
    }

    @Test func valueLargerThanTheByteBoundIsRefused() async throws {
        let store = try MemoryStore(configuration: .init(maximumBytes: 16))
        #expect(store.maximumValueSize == 16)
        try await store.set("k", value: ByteBuffer(string: "small"))
        let error = await #expect(throws: StoreError.self) {
            try await store.set("k", value: ByteBuffer(repeating: 0, count: 17))
        }
        #expect(error?.code == .valueTooLarge)
        #expect(try await store.get("k") == ByteBuffer(string: "small"))
    }

    @Test func aSmallSliceOfALargeBufferIsStoredCompactly() async throws {
        let store = try MemoryStore(configuration: .init(maximumBytes: 64 * 1024))
        var large = ByteBuffer(repeating: 0x61, count: 1024 * 1024)
        let slice = large.readSlice(length: 10)!
        try await store.set("slice", value: slice)
        let stored = try #require(try await store.get("slice"))
        #expect(stored == slice)
        #expect(stored.storageCapacity < 4096, "the stored value does not keep the 1 MiB buffer alive")
        _ = try await store.update("slice") { _ in .setKeepingExpiry(slice) }
        #expect(try #require(try await store.get("slice")).storageCapacity < 4096, "updates store compact values too")
        let small = ByteBuffer(string: "small")
        try await store.set("small", value: small)
        #expect(try await store.get("small")?.storageCapacity == small.storageCapacity, "a compact value is stored as it is")
    }

    @Test func deletingAndEvictingKeepsCountsExact() async throws {
        let store = try MemoryStore(configuration: .init(maximumEntries: 100))
        let child = try store.withNamespace("child")
        for index in 0..<250 {
            try await store.set("k\(index)", value: ByteBuffer(string: "v"))
            try await child.set("k\(index)", value: ByteBuffer(string: "v"))
        }
        #expect(store.count == 100)
        try await child.deleteAll()
        #expect(store.count == 50, "the root's 50 most recent entries remain")
        #expect(try await store.keys().collect().count == 50)
        for index in 0..<300 {
            try await child.set("n\(index)", value: ByteBuffer(string: "v"))
        }
        #expect(store.count == 100)
        #expect(try await store.keys().collect().isEmpty, "the child's newer writes evicted the root's entries")
    }

    @Test func deleteExpiredRemovesEntriesFromMemory() async throws {
        let clock = ManualClock()
        let store = MemoryStore(clock: clock)
        let child = try store.withNamespace("child")
        try await store.set("a", value: ByteBuffer(string: "a"), expiresIn: .seconds(1))
        try await child.set("b", value: ByteBuffer(string: "b"), expiresIn: .seconds(1))
        try await child.set("c", value: ByteBuffer(string: "c"))
        clock.advance(by: .seconds(2))
        #expect(store.count == 3, "expired entries stay until read or swept")
        try await child.deleteExpired()
        #expect(store.count == 2, "a child's deleteExpired purges only its own tree")
        try await store.deleteExpired()
        #expect(store.count == 1)
    }

    @Test func serviceSweepsExpiredEntriesAndStopsOnShutdown() async throws {
        let clock = ManualClock()
        let store = try MemoryStore(clock: clock, configuration: .init(sweepInterval: .seconds(10)))
        let child = try store.withNamespace("sessions")
        try await child.set("a", value: ByteBuffer(string: "a"), expiresIn: .seconds(5))
        try await store.set("b", value: ByteBuffer(string: "b"))

        #expect(child.service == store.service, "a namespace's service is its root's")
        try await withThrowingTaskGroup(of: Void.self) { group in
            // The child's service sweeps the whole storage.
            group.addTask { try await child.service.run() }
            try await waitUntil { clock.sleeperCount == 1 }
            await expectStoreError([.invalidConfiguration], "a second run of the same service") { try await store.service.run() }
            clock.advance(by: .seconds(10))
            try await waitUntil { store.count == 1 }
            #expect(try await store.get("b") == ByteBuffer(string: "b"))
            group.cancelAll()
            try await group.waitForAll()
        }
    }

    @Test func settingsItCannotWorkWithAreTypedErrors() async {
        let bad: [(String, MemoryStore<ContinuousClock>.Configuration)] = [
            ("no entries", .init(maximumEntries: 0)),
            ("negative bytes", .init(maximumBytes: -1)),
            ("negative value size", .init(maximumValueSize: -1)),
            ("no sweep interval", .init(sweepInterval: .zero)),
        ]
        for (what, configuration) in bad {
            await expectStoreError([.invalidConfiguration], what) { try MemoryStore(configuration: configuration) }
            await expectStoreError([.invalidConfiguration], what) {
                try MemoryStore(
                    clock: ManualClock(),
                    configuration: .init(
                        maximumEntries: configuration.maximumEntries,
                        maximumBytes: configuration.maximumBytes,
                        maximumValueSize: configuration.maximumValueSize,
                        sweepInterval: configuration.sweepInterval
                    )
                )
            }
        }
    }
}
