import Foundation
import NIOCore
import Stash
import StashRedis
import Testing

@Suite struct RedisStoreTests {
    @Test func keysAreLaidOutUnderThePrefixAndForeignKeysAreNeverTouched() async throws {
        let root = try RedisStore(configuration: RedisConfiguration(url: RedisTestServer.url())).withNamespace("layout")
        let child = try root.withNamespace("child")
        try await root.set("k", value: ByteBuffer(string: "root"))
        try await child.set("k", value: ByteBuffer(string: "child"))
        #expect(try await RedisTestServer.cli(["GET", "stash:layout|k"]) == "root")
        #expect(try await RedisTestServer.cli(["GET", "stash:layout:child|k"]) == "child")

        // Keys Stash did not write, some of them shaped like its own.
        let foreign = ["foreign", "stash", "stashlayout|k", "stash:layoutx|k", "other:stash:layout|k"]
        for key in foreign { try await RedisTestServer.cli(["SET", key, "theirs"]) }
        try await root.deleteAll()
        #expect(try await child.get("k") == nil)
        for key in foreign {
            #expect(try await RedisTestServer.cli(["GET", key]) == "theirs", "deleteAll never touches \(key)")
            try await RedisTestServer.cli(["DEL", key])
        }
    }

    @Test func listingMatchesGlobCharactersLiterallyEvenBeforeACombiningMark() async throws {
        let store = try RedisStore(configuration: RedisConfiguration(url: RedisTestServer.url())).withNamespace("glob")
        try await store.deleteAll()
        // "*\u{301}" is one Character that is not "*": escaping by Character would leave the `*` a wildcard.
        for key in ["*\u{301}x", "a\u{301}b", "abc", "?x", "[a]x", "\\x"] {
            try await store.set(key, value: ByteBuffer(string: key))
        }
        #expect(try await store.keys(withPrefix: "*\u{301}").collect() == ["*\u{301}x"])
        #expect(try await store.keys(withPrefix: "?").collect() == ["?x"])
        #expect(try await store.keys(withPrefix: "[a]").collect() == ["[a]x"])
        #expect(try await store.keys(withPrefix: "\\").collect() == ["\\x"])
        try await store.deleteAll()
    }

    @Test func twoPoolsIncrementingOneKeyEndAtTheExactTotal() async throws {
        let url = try RedisTestServer.url()
        let key = "shared counter \(UUID().uuidString)"
        let first = try RedisStore(url: url).withNamespace("pools")
        let second = try RedisStore(url: url).withNamespace("pools")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for store in [first, second] {
                for _ in 0..<500 {
                    group.addTask { try await store.increment(key) }
                }
            }
            try await group.waitForAll()
        }
        #expect(try await first.get(key) == ByteBuffer(string: "1000"))
        try await first.delete(key)
    }

    @Test func aWrongPasswordIsAnAuthenticationError() async throws {
        let port = try RedisTestServer.port()
        let wrong = try RedisStore(url: "redis://stash:wrong-secret@127.0.0.1:\(port)/0")
        let error = await #expect(throws: StoreError.self) { try await wrong.get("k") }
        #expect(error?.code == .authenticationFailed, "\(String(describing: error))")
        #expect(error.map { "\($0)" }?.contains("WRONGPASS") == true, "the server's message is kept")
        // Asking again fails the same way (not as a vague "unavailable").
        let again = await #expect(throws: StoreError.self) { try await wrong.get("k") }
        #expect(again?.code == .authenticationFailed)

        let right = try RedisStore(url: "redis://stash:stash-secret@127.0.0.1:\(port)/0").withNamespace("acl")
        try await right.set("k", value: ByteBuffer(string: "v"))
        #expect(try await right.get("k") == ByteBuffer(string: "v"), "the ACL user with its password works")
        try await right.deleteAll()
    }

    @Test func aFlushedScriptIsLoadedAgainTransparently() async throws {
        let store = try RedisTestServer.freshNamespace()
        #expect(try await store.increment("count", by: 1, expiresIn: .seconds(60)) == 1)
        #expect(try await RedisTestServer.cli(["SCRIPT", "FLUSH"]) == "OK")
        #expect(try await store.increment("count", by: 1, expiresIn: .seconds(60)) == 2, "EVALSHA's NOSCRIPT falls back to EVAL")
        #expect(try await store.get("count", renewingFor: .seconds(60)) == ByteBuffer(string: "2"))
        try await store.deleteAll()
    }

    @Test func theDatabaseInTheURLIsSelected() async throws {
        let port = try RedisTestServer.port()
        let store = try RedisStore(url: "redis://127.0.0.1:\(port)/3").withNamespace("database")
        try await store.set("k", value: ByteBuffer(string: "in 3"))
        #expect(try await RedisTestServer.cli(["-n", "3", "GET", "stash:database|k"]) == "in 3")
        #expect(try await RedisTestServer.cli(["-n", "0", "EXISTS", "stash:database|k"]) == "0")
        try await store.deleteAll()
    }

    @Test func concurrentCommandsArePipelinedOnFewConnections() async throws {
        // Counted by connection name: other tests connect to the same server meanwhile.
        let name = "stash-pipeline-\(UUID().uuidString.prefix(8))"
        var configuration = try RedisConfiguration(url: RedisTestServer.url())
        configuration.connectionName = name
        let store = try RedisStore(configuration: configuration).withNamespace("pipeline")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<2_000 {
                group.addTask { try await store.set("k\(index % 50)", value: ByteBuffer(string: "v")) }
            }
            try await group.waitForAll()
        }
        let clients = try await RedisTestServer.cli(["CLIENT", "LIST"]).split(separator: "\n")
        let opened = clients.filter { $0.contains("name=\(name) ") }.count
        #expect(opened >= 1 && opened <= configuration.maximumConnections, "2,000 concurrent commands used \(opened) connections")
        #expect(try await store.get("k7") == ByteBuffer(string: "v"))
        try await store.deleteAll()
    }
}
