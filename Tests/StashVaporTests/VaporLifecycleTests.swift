import Foundation
import NIOCore
import Stash
import StashTesting
import StashVapor
import Testing
import Vapor

/// Stash's services run with the Vapor application: started when it boots, stopped gracefully when it shuts down.
@Suite struct VaporLifecycleTests {
    @Test func aPersisterRunsWithTheApplicationAndSavesOnceMoreWhenItStops() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("stash-vapor-\(UUID().uuidString).snapshot").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = MemoryStore()
        // An interval no test reaches: only the save at the graceful stop can write the file.
        let persister = Persister(store: store, path: path, configuration: .init(saveInterval: .seconds(3600)))
        persister.startAutoSave()
        let app = try await Application.make(.testing)
        app.lifecycle.use(StashLifecycleHandler(persister))
        try await app.asyncBoot()
        try await store.set("login", value: ByteBuffer(string: "alice"))
        #expect(!FileManager.default.fileExists(atPath: path))
        try await app.asyncShutdown()
        #expect(FileManager.default.fileExists(atPath: path), "saved when the application stopped")

        let restored = MemoryStore()
        try await Persister(store: restored, path: path).load()
        #expect(try await restored.get("login") == ByteBuffer(string: "alice"))
    }

    @Test func theRegistrysStoresAreSweptWhileTheApplicationRuns() async throws {
        let clock = ManualClock()
        let root = try MemoryStore(clock: clock, configuration: .init(sweepInterval: .seconds(10)))
        let registry = StoreRegistry(defaultFactory: { name in try root.withNamespace(name) })
        let sessions = try registry.store(named: "sessions")
        try await sessions.set("expired", value: ByteBuffer(string: "a"), expiresIn: .seconds(5))
        try await sessions.set("kept", value: ByteBuffer(string: "b"))
        let app = try await Application.make(.testing)
        app.lifecycle.use(StashLifecycleHandler(registry))
        try await app.asyncBoot()
        // The registry runs the store's sweep: once it sleeps on the clock, ten seconds on, it removes the entry.
        try await waitUntil { clock.sleeperCount == 1 }
        clock.advance(by: .seconds(10))
        try await waitUntil { root.count == 1 }
        #expect(try await sessions.get("kept") == ByteBuffer(string: "b"))
        try await app.asyncShutdown()
        #expect(clock.sleeperCount == 0, "the sweep ended with the application")
    }
}
