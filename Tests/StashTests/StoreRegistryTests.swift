import Logging
import NIOCore
import ServiceLifecycle
import Stash
import StashTesting
import Testing

@Suite struct StoreRegistryTests {
    @Test func sameNameReturnsTheSameStore() async throws {
        let registry = StoreRegistry()
        let first = try registry.store(named: "sessions")
        try await first.set("k", value: ByteBuffer(string: "v"))
        let second = try registry.store(named: "sessions")
        #expect(try await second.get("k") == ByteBuffer(string: "v"))
        #expect(second is MemoryStore<ContinuousClock>, "the default factory makes memory stores")
        let other = try registry.store(named: "response_cache")
        #expect(try await other.get("k") == nil, "each name gets its own store")
    }

    @Test func factoryRunsOncePerNameUnderConcurrentFirstCalls() async throws {
        let calls = Locked<[String: Int]>([:])
        let registry = StoreRegistry { name in
            calls.withLock { $0[name, default: 0] += 1 }
            return MemoryStore()
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<200 {
                group.addTask {
                    let store = try registry.store(named: "name\(index % 4)")
                    _ = try await store.increment("hits")
                }
            }
            try await group.waitForAll()
        }
        #expect(calls.withLock { $0 } == ["name0": 1, "name1": 1, "name2": 1, "name3": 1])
        for index in 0..<4 {
            #expect(try await registry.store(named: "name\(index)").get("hits") == ByteBuffer(string: "50"))
        }
    }

    @Test func registeringATakenNameThrowsUnlessReplacing() async throws {
        let registry = StoreRegistry(stores: ["cache": MemoryStore()])
        let error = #expect(throws: StoreError.self) {
            try registry.register(MemoryStore(), named: "cache")
        }
        #expect(error?.code == .alreadyExists)
        let replacement = MemoryStore()
        try await replacement.set("marker", value: ByteBuffer(string: "new"))
        try registry.register(replacement, named: "cache", replacingExisting: true)
        #expect(try await registry.store(named: "cache").get("marker") == ByteBuffer(string: "new"))
    }

    @Test func rootNamespacesAsFactory() async throws {
        let root = MemoryStore()
        let registry = StoreRegistry(defaultFactory: root.withNamespace)
        let sessions = try registry.store(named: "sessions")
        try await sessions.set("id", value: ByteBuffer(string: "data"))
        #expect(try await root.withNamespace("sessions").get("id") == ByteBuffer(string: "data"), "the store is root's child")
        #expect(try await root.get("id") == nil)
        try await root.deleteAll()
        #expect(try await sessions.get("id") == nil, "deleteAll on the root reaches every feature's namespace")

        let error = #expect(throws: StoreError.self) { try registry.store(named: "not a namespace") }
        #expect(error?.code == .invalidNamespace)
        #expect(registry.contains("not a namespace") == false, "a failed factory call registers nothing")
    }

    @Test func runsTheServicesOfItsStoresIncludingLaterOnes() async throws {
        let clock = ManualClock()
        let early = try MemoryStore(clock: clock, configuration: .init(sweepInterval: .seconds(10)))
        let late = try MemoryStore(clock: clock, configuration: .init(sweepInterval: .seconds(10)))
        let registry = StoreRegistry(stores: ["early": early]) { _ in late }
        try await early.set("e", value: ByteBuffer(string: "e"), expiresIn: .seconds(1))
        try await late.set("l", value: ByteBuffer(string: "l"), expiresIn: .seconds(1))

        try await withThrowingTaskGroup(of: Void.self) { group in
            let serviceGroup = ServiceGroup(configuration: .init(services: [registry], logger: .init(label: "test")))
            group.addTask { try await serviceGroup.run() }
            try await waitUntil { clock.sleeperCount == 1 }
            _ = try registry.store(named: "late")
            try await waitUntil { clock.sleeperCount == 2 }
            clock.advance(by: .seconds(10))
            try await waitUntil { early.count == 0 && late.count == 0 }
            await serviceGroup.triggerGracefulShutdown()
            try await group.waitForAll()
        }
        #expect(clock.sleeperCount == 0, "graceful shutdown stops every store's sweep")
    }

    @Test func runsTheServiceOfNamespacesOfOneRootOnce() async throws {
        let clock = ManualClock()
        let root = try MemoryStore(clock: clock, configuration: .init(sweepInterval: .seconds(10)))
        let other = try MemoryStore(clock: clock, configuration: .init(sweepInterval: .seconds(10)))
        let registry = StoreRegistry(stores: ["other": other], defaultFactory: root.withNamespace)
        for name in ["sessions", "response_cache", "rate_limit"] {
            try await registry.store(named: name).set("k", value: ByteBuffer(string: name), expiresIn: .seconds(1))
        }

        try await withThrowingTaskGroup(of: Void.self) { group in
            let serviceGroup = ServiceGroup(configuration: .init(services: [registry], logger: .init(label: "test")))
            group.addTask { try await serviceGroup.run() }
            // One sweep for the three namespaces of `root`, one for `other`. A second run of root's service, for a
            // namespace made later or for another of the three, would throw and fail the service group.
            try await waitUntil { clock.sleeperCount == 2 }
            _ = try registry.store(named: "later")
            await expectStoreError([.invalidConfiguration], "running the registry twice at once") { try await registry.run() }
            await expectStoreError([.invalidConfiguration], "running the root's service beside the registry") {
                try await root.service.run()
            }
            clock.advance(by: .seconds(10))
            try await waitUntil { root.count == 0 }
            await serviceGroup.triggerGracefulShutdown()
            try await group.waitForAll()
        }
        #expect(clock.sleeperCount == 0)
        // Once stopped, the service may run again.
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await root.service.run() }
            try await waitUntil { clock.sleeperCount == 1 }
            group.cancelAll()
            try await group.waitForAll()
        }
    }
}
