import Foundation
import NIOCore
import Stash
import StashRedis
import StashTestSupport
import Testing

@testable import StashRedis

/// The near cache when what tells it of changes is lost, late or says "everything": its connections killed (`CLIENT
/// KILL`), the server restarted or stalled (`SIGSTOP`), `FLUSHALL` — on a server of the test's own, one fault test at
/// a time.
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

    @Test func aStalledServerIsNoticedByATimeoutAndNoCopyFromBeforeIsServedAfterIt() async throws {
        try await ServerFaultGate.shared.run {
            let server = try RedisServerProcess()
            try await server.start()
            defer { server.resume() }
            let (store, tier) = try Self.store(on: server)
            // Another instance, patient enough to wait out the stalls, connected before them.
            var patient = try RedisConfiguration(url: server.url)
            patient.commandTimeout = .seconds(30)
            let writer = try RedisStore(configuration: patient)
            for index in 0..<10 {
                try await writer.set("k\(index)", value: ByteBuffer(string: "\(index)"))
                _ = try await store.get("k\(index)")
            }
            #expect(tier.count == 10)

            // A stall shorter than the command timeout: the connection lives, and the push for a write sent during
            // the stall arrives after it. Until that write is answered, the copy is as current as Redis.
            server.pause()
            async let short: Void = writer.set("k0", value: ByteBuffer(string: "short"))
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await store.get("k0").map { String(buffer: $0) } == "0", "served from memory while Redis stalls")
            server.resume()
            try await short
            let deadline = ContinuousClock.now + .seconds(5)
            while try await store.get("k0").map({ String(buffer: $0) }) != "short" {
                try #require(ContinuousClock.now < deadline, "the push for the write during the stall never arrived")
                try await Task.sleep(for: .milliseconds(1))
            }
            let hits = tier.hits
            #expect(try await store.get("k1").map { String(buffer: $0) } == "1")
            #expect(tier.hits == hits + 1, "the other copies stay: no push was lost")

            // A stall past the timeout: the command that times out closes its connection (pushes on it may be lost),
            // and the tier is emptied before any read is served from it again.
            server.pause()
            async let long: Void = writer.set("k1", value: ByteBuffer(string: "long"))
            await #expect {
                _ = try await store.get("missing")
            } throws: { error in
                (error as? StoreError)?.code == .timedOut
            }
            try await Self.waitUntilEmpty(tier, "a command timed out")
            server.resume()
            try await long
            #expect(try await store.get("k1").map { String(buffer: $0) } == "long", "the write during the stall, read from Redis")
            #expect(try await store.get("k2").map { String(buffer: $0) } == "2")
            let refilled = tier.hits
            #expect(try await store.get("k2").map { String(buffer: $0) } == "2")
            #expect(tier.hits == refilled + 1, "the tier refills once Redis answers again")
        }
    }

    /// A slot moved to another primary: the `MOVED` that tells the store drops what its near cache read from the
    /// node that served the slot (its other slots may have moved too, as in a failover), and nothing else.
    @Test func aMovedSlotDropsTheCopiesReadFromItsNodeOnly() async throws {
        try await ServerFaultGate.shared.run {
            let cluster = try await RedisTestCluster.start()
            defer { cluster.stop() }
            var configuration = try RedisConfiguration(url: cluster.url)
            configuration.nearCache = RedisNearCache()
            configuration.commandTimeout = .seconds(10)
            let store = try RedisStore(configuration: configuration)
            let tier = try #require(store.client.nearCache)
            let primaries = try await cluster.primaryPorts()
            // Which primary serves each key (`EXISTS` answers on the owner, `MOVED` elsewhere).
            var owners: [String: Int] = [:]
            for index in 0..<12 {
                let key = "k\(index)"
                try await store.set(key, value: ByteBuffer(string: key))
                for port in primaries where try await RedisTestServer.cli(["EXISTS", "stash|" + key], port: port) == "1" {
                    owners[key] = port
                }
                _ = try await store.get(key)
            }
            let source = primaries[0]
            let onSource = owners.filter { $0.value == source }.keys.sorted()
            let elsewhere = owners.filter { $0.value != source }.keys.sorted()
            try #require(onSource.count >= 2 && !elsewhere.isEmpty, "keys on every side: \(owners)")
            #expect(tier.count == 12)

            // Move the slot of one key by hand, as resharding does: its key leaves the source (a push drops it).
            let moving = onSource[0]
            let slot = try await RedisTestServer.cli(["CLUSTER", "KEYSLOT", "stash|" + moving], port: source)
            let target = primaries[1]
            let sourceID = try await RedisTestServer.cli(["CLUSTER", "MYID"], port: source)
            let targetID = try await RedisTestServer.cli(["CLUSTER", "MYID"], port: target)
            _ = try await RedisTestServer.cli(["CLUSTER", "SETSLOT", slot, "IMPORTING", sourceID], port: target)
            _ = try await RedisTestServer.cli(["CLUSTER", "SETSLOT", slot, "MIGRATING", targetID], port: source)
            let migrated = try await RedisTestServer.cli(
                ["MIGRATE", "127.0.0.1", String(target), "", "0", "5000", "KEYS", "stash|" + moving],
                port: source
            )
            #expect(migrated == "OK")
            for port in primaries { _ = try await RedisTestServer.cli(["CLUSTER", "SETSLOT", slot, "NODE", targetID], port: port) }

            // The next command for the slot meets `MOVED`: the source's copies go, the other primaries' stay.
            #expect(try await store.get(moving) == ByteBuffer(string: moving))
            let hits = tier.hits
            for key in elsewhere { #expect(try await store.get(key) == ByteBuffer(string: key)) }
            #expect(tier.hits == hits + elsewhere.count, "what other primaries serve is still served from memory")
            for key in onSource.dropFirst() { #expect(try await store.get(key) == ByteBuffer(string: key)) }
            #expect(tier.hits == hits + elsewhere.count, "what the source served is read again")
            try await store.deleteAll()
        }
    }
}
