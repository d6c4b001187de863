import Foundation
import NIOCore
import Stash
import StashRedis
import StashTestSupport
import Testing

@testable import StashRedis

/// The near cache when what tells it of changes is lost or says "everything": its connections killed (`CLIENT
/// KILL`), the server restarted, `FLUSHALL` — on a server of the test's own, one fault test at a time.
@Suite struct RedisNearCacheFaultTests {
    /// A store with a near cache on `server`, and its tier.
    static func store(on server: RedisServerProcess) throws -> (RedisStore, RedisNearCacheTier) {
        var configuration = try RedisConfiguration(url: server.url)
        configuration.nearCache = RedisNearCache()
        configuration.commandTimeout = .seconds(2)
        configuration.connectTimeout = .seconds(2)
        configuration.maximumReconnectDelay = .milliseconds(100)
        let store = try RedisStore(configuration: configuration)
        return (store, try #require(store.client.nearCache))
    }

    /// Waits (5 s at most) until the tier holds nothing.
    static func waitUntilEmpty(_ tier: RedisNearCacheTier, _ what: String) async throws {
        let deadline = ContinuousClock.now + .seconds(5)
        while tier.count > 0 {
            try #require(ContinuousClock.now < deadline, "\(what): the near cache still holds \(tier.count) values")
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    @Test func aKilledConnectionOrAFlushEmptiesTheTierAndReadsRefillIt() async throws {
        try await ServerFaultGate.shared.run {
            let server = try RedisServerProcess()
            try await server.start()
            let (store, tier) = try Self.store(on: server)
            for index in 0..<10 {
                try await store.set("k\(index)", value: ByteBuffer(string: "\(index)"))
                _ = try await store.get("k\(index)")
            }
            #expect(tier.count == 10)

            // The server closes the store's connections: the pushes it would send are lost, so nothing is kept.
            try await RedisTestServer.cli(["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"], port: server.port)
            try await Self.waitUntilEmpty(tier, "CLIENT KILL")
            // Written meanwhile by another client: the store reconnects and reads the new value from Redis.
            try await RedisTestServer.cli(["SET", "stash|k0", "changed"], port: server.port)
            #expect(try await store.get("k0").map { String(buffer: $0) } == "changed")
            #expect(try await store.get("k1").map { String(buffer: $0) } == "1")
            #expect(tier.count == 2, "the tier refills from the new connection")

            try await RedisTestServer.cli(["FLUSHALL"], port: server.port)
            try await Self.waitUntilEmpty(tier, "FLUSHALL")
            #expect(try await store.get("k1") == nil)

            // A restart: what was read before it is never served after it.
            try await store.set("k2", value: ByteBuffer(string: "before"))
            _ = try await store.get("k2")
            server.kill()
            try await server.start()
            try await RedisTestServer.cli(["SET", "stash|k2", "after"], port: server.port)
            let deadline = ContinuousClock.now + .seconds(5)
            var seen: String?
            while seen != "after" {
                try #require(ContinuousClock.now < deadline, "the store never read k2 again after the restart")
                seen = try? await store.get("k2").map { String(buffer: $0) }
                #expect(seen != "before", "never the value from before the restart")
                try await Task.sleep(for: .milliseconds(10))
            }
        }
    }
}
