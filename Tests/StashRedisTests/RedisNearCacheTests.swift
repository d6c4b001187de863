import Foundation
import NIOCore
import Stash
import StashRedis
import StashTestSupport
import Testing

@testable import StashRedis

/// The near cache against real servers: values served from memory, and dropped when another client changes them —
/// another store, redis-cli, an expiry — on Redis, Valkey, Redis over TLS and both clusters.
@Suite struct RedisNearCacheTests {
    /// A store of its own (its own connections and near cache) on a server, in `namespace`.
    static func store(_ server: RedisTestServer.Server, namespace: String, nearCache: Bool = true) throws -> RedisStore {
        var configuration = try RedisConfiguration(url: server.url())
        if nearCache { configuration.nearCache = RedisNearCache(maximumEntries: 100, maximumBytes: 1 << 20) }
        return try RedisStore(configuration: configuration).withNamespace(namespace)
    }

    static func tier(_ store: RedisStore) throws -> RedisNearCacheTier {
        try #require(store.client.nearCache)
    }

    /// Reads until `store` returns `expected` (5 s at most); how long that took.
    static func waitFor(_ expected: String?, in store: RedisStore, key: String) async throws -> Duration {
        let start = ContinuousClock.now
        while try await store.get(key).map({ String(buffer: $0) }) != expected {
            try #require(ContinuousClock.now - start < .seconds(5), "\(key) never became \(String(describing: expected))")
            try await Task.sleep(for: .milliseconds(1))
        }
        return ContinuousClock.now - start
    }

    @Test(arguments: [RedisTestServer.Server.redis, .valkey, .redisOverTLS, .cluster, .clusterOverTLS])
    func aValueAnotherInstanceReplacesIsNeverServedAgainOnceTheInvalidationArrives(server: RedisTestServer.Server) async throws {
        let namespace = "near-" + UUID().uuidString.prefix(8).lowercased()
        let reader = try Self.store(server, namespace: namespace)
        let writer = try Self.store(server, namespace: namespace)
        let tier = try Self.tier(reader)
        // A key read while missing is known missing (a hit), until another instance creates it.
        #expect(try await reader.get("k") == nil)
        let misses = tier.hits
        #expect(try await reader.get("k") == nil)
        #expect(tier.hits == misses + 1, "a missing key is served from memory too")
        try await writer.set("k", value: ByteBuffer(string: "v1"), expiresIn: .seconds(60))
        _ = try await Self.waitFor("v1", in: reader, key: "k")
        let hits = tier.hits
        #expect(try await reader.get("k").map { String(buffer: $0) } == "v1")
        #expect(tier.hits == hits + 1, "the second read is served from memory")

        try await writer.set("k", value: ByteBuffer(string: "v2"), expiresIn: .seconds(60))
        _ = try await Self.waitFor("v2", in: reader, key: "k")
        for _ in 0..<20 {
            #expect(try await reader.get("k").map { String(buffer: $0) } == "v2", "never the old value once the new one was seen")
        }
        try await writer.delete("k")
        _ = try await Self.waitFor(nil, in: reader, key: "k")
        try await writer.deleteAll()
    }

    /// Session loads: a record read twice is served from memory the second time; another instance's merge, delete,
    /// or a value written over it, reach the reader.
    @Test(arguments: [RedisTestServer.Server.redis, .valkey, .cluster])
    func aRecordAnotherInstanceChangesIsNeverServedAgainOnceTheInvalidationArrives(server: RedisTestServer.Server) async throws {
        let namespace = "near-" + UUID().uuidString.prefix(8).lowercased()
        let reader = try Self.store(server, namespace: namespace)
        let writer = try Self.store(server, namespace: namespace)
        let tier = try Self.tier(reader)
        let fields = ["user": ByteBuffer(string: "ada"), "visits": ByteBuffer(string: "1")]
        #expect(try await writer.insertRecord("s", fields: fields, expiresIn: .seconds(60)))
        #expect(try await reader.record("s") == fields)
        let hits = tier.hits
        #expect(try await reader.record("s") == fields)
        #expect(tier.hits == hits + 1, "the second load is served from memory")

        _ = try await writer.mergeRecord("s", RecordChanges(set: ["visits": ByteBuffer(string: "2")]))
        let start = ContinuousClock.now
        while try await reader.record("s")?["visits"] != ByteBuffer(string: "2") {
            try #require(ContinuousClock.now - start < .seconds(5), "the merge never reached the reader")
            try await Task.sleep(for: .milliseconds(1))
        }
        #expect(try await reader.record("s")?["user"] == ByteBuffer(string: "ada"), "the whole record, merged")
        try await writer.delete("s")
        while try await reader.record("s") != nil {
            try #require(ContinuousClock.now - start < .seconds(5), "the delete never reached the reader")
            try await Task.sleep(for: .milliseconds(1))
        }
        // A value where a record was: the reader's load fails as it does without a near cache.
        try await writer.set("s", value: ByteBuffer(string: "legacy"), expiresIn: .seconds(60))
        _ = try await Self.waitFor("legacy", in: reader, key: "s")
        await #expect(throws: StoreError.self) { _ = try await reader.record("s") }
        try await writer.deleteAll()
    }

    @Test func deletingANamespaceKeepsTheCopiesOfOthers() async throws {
        let namespace = "near-" + UUID().uuidString.prefix(8).lowercased()
        let root = try Self.store(.redis, namespace: namespace)
        let child = try root.withNamespace("child")
        let sibling = try root.withNamespace("sibling")
        let tier = try Self.tier(root)
        for store in [root, child, sibling] {
            try await store.set("k", value: ByteBuffer(string: "v"), expiresIn: .seconds(60))
            _ = try await store.get("k")
        }
        #expect(tier.count == 3)
        try await child.deleteAll()
        #expect(try await child.get("k") == nil)
        let hits = tier.hits
        #expect(try await sibling.get("k") == ByteBuffer(string: "v"))
        #expect(tier.hits == hits + 1, "another namespace's copy stays")
        try await root.deleteAll()
        #expect(tier.count == 0, "a namespace's deletion drops its children's copies")
    }

    @Test func theStalenessWindowAfterAnotherInstancesWriteIsShortAndNeverReopens() async throws {
        let namespace = "near-" + UUID().uuidString.prefix(8).lowercased()
        let reader = try Self.store(.redis, namespace: namespace)
        let writer = try Self.store(.redis, namespace: namespace, nearCache: false)
        try await writer.set("k", value: ByteBuffer(string: "0"))
        _ = try await reader.get("k")
        var windows: [Duration] = []
        for round in 1...1_000 {
            try await writer.set("k", value: ByteBuffer(string: "\(round)"))
            // From the write's answer until the reader returns it: the push's way from the server. Read as often as
            // the reader can (no sleep between reads, only a yield), to time the window, not a polling interval.
            let start = ContinuousClock.now
            while try await reader.get("k").map({ String(buffer: $0) }) != "\(round)" {
                try #require(ContinuousClock.now - start < .seconds(5), "the write of \(round) never reached the reader")
                await Task.yield()
            }
            windows.append(ContinuousClock.now - start)
            #expect(try await reader.get("k").map { String(buffer: $0) } == "\(round)", "never the old value again")
        }
        windows.sort()
        let (p50, p99, maximum) = (windows[499], windows[989], windows[999])
        print("near cache staleness after another instance's write, 1,000 writes: p50 \(p50), p99 \(p99), max \(maximum)")
        // Generous for a loaded two-core machine: the push is one message on an open connection.
        #expect(maximum < .seconds(2), "p50 \(p50), p99 \(p99), max \(maximum)")
        try await writer.deleteAll()
    }

    @Test func aWriteThroughTheStoreIsReadBackAtOnce() async throws {
        let store = try Self.store(.redis, namespace: "near-" + UUID().uuidString.prefix(8).lowercased())
        for round in 0..<50 {
            try await store.set("k", value: ByteBuffer(string: "\(round)"), expiresIn: .seconds(60))
            #expect(try await store.get("k").map { String(buffer: $0) } == "\(round)", "no window after the write's answer")
            #expect(try await store.get("k").map { String(buffer: $0) } == "\(round)")
        }
        _ = try await store.increment("n", by: 1, initialValue: 0, expiresIn: nil)
        #expect(try await store.get("n").map { String(buffer: $0) } == "1")
        _ = try await store.increment("n", by: 1, initialValue: 0, expiresIn: nil)
        #expect(try await store.get("n").map { String(buffer: $0) } == "2", "an increment drops the cached counter")
        _ = try await store.update("n") { _ in .set(ByteBuffer(string: "7"), expiresIn: nil) }
        #expect(try await store.get("n").map { String(buffer: $0) } == "7", "so does an update")
        try await store.delete("n")
        #expect(try await store.get("n") == nil, "and a delete")
        try await store.deleteAll()
    }

    @Test func redisCLIWritesAndExpiriesReachTheNearCache() async throws {
        let namespace = "near-" + UUID().uuidString.prefix(8).lowercased()
        let store = try Self.store(.redis, namespace: namespace)
        let key = try #require(store.redisKey("k").stringValue)
        try await store.set("k", value: ByteBuffer(string: "mine"), expiresIn: .seconds(60))
        #expect(try await store.get("k").map { String(buffer: $0) } == "mine")
        try await RedisTestServer.cli(["SET", key, "theirs"])
        _ = try await Self.waitFor("theirs", in: store, key: "k")
        try await RedisTestServer.cli(["DEL", key])
        _ = try await Self.waitFor(nil, in: store, key: "k")

        // A copy never outlives the key: 1 s to live, read at once (kept in memory), gone after.
        let start = ContinuousClock.now
        try await store.set("short", value: ByteBuffer(string: "s"), expiresIn: .seconds(1))
        let early = try await store.get("short")
        _ = try await store.get("short")
        // On a machine too busy to read within the second, the key is rightly gone already.
        if ContinuousClock.now - start < .seconds(1) { #expect(early == ByteBuffer(string: "s")) }
        try await Task.sleep(for: .milliseconds(1_100))
        #expect(try await store.get("short") == nil, "the copy expired with the key")
        try await store.deleteAll()
    }

    @Test func theTierIsBoundedAndTheLeastRecentlyUsedGoFirst() async throws {
        let namespace = "near-" + UUID().uuidString.prefix(8).lowercased()
        let store = try Self.store(.redis, namespace: namespace)
        let tier = try Self.tier(store)
        for index in 0..<150 {
            try await store.set("key-\(index)", value: ByteBuffer(string: "\(index)"), expiresIn: .seconds(60))
            _ = try await store.get("key-\(index)")
        }
        #expect(tier.count == 100, "at most maximumEntries values")
        let hits = tier.hits
        _ = try await store.get("key-149")
        _ = try await store.get("key-0")
        #expect(tier.hits == hits + 1, "the most recent is kept, the oldest was evicted")
        try await store.deleteAll()
    }

    @Test func badLimitsAreConfigurationErrors() throws {
        for nearCache in [RedisNearCache(maximumEntries: 0), RedisNearCache(maximumBytes: -1)] {
            var configuration = RedisConfiguration()
            configuration.nearCache = nearCache
            let error = #expect(throws: StoreError.self) { try RedisStore(configuration: configuration) }
            #expect(error?.code == .invalidConfiguration)
        }
    }
}

extension RESPArgument {
    /// The text of a string argument.
    var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }
}
