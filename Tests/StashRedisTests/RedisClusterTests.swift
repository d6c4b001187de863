import Foundation
import NIOCore
import Stash
import StashRedis
import StashTesting
import Testing

@testable import StashRedis

/// `RedisStore` on the Redis Cluster `scripts/test.sh` starts (three primaries, three replicas); the conformance
/// suite runs on it too (`RedisStoreConformanceTests`).
@Suite struct RedisClusterTests {
    static func ports() throws -> [Int] {
        guard let text = ProcessInfo.processInfo.environment["STASH_REDIS_CLUSTER_PORTS"], !text.isEmpty else {
            throw RedisTestServer.Missing(variable: "STASH_REDIS_CLUSTER_PORTS")
        }
        return text.split(separator: " ").compactMap { Int($0) }
    }

    /// The ports of the nodes that are primaries now.
    static func primaryPorts() async throws -> [Int] {
        var primaries: [Int] = []
        for port in try Self.ports() where try await RedisTestServer.cli(["ROLE"], port: port).hasPrefix("master") {
            primaries.append(port)
        }
        return primaries
    }

    /// How many keys of a namespace (by its last name) one node holds.
    static func count(namespace: String, port: Int) async throws -> Int {
        let output = try await RedisTestServer.cli(["--scan", "--pattern", "*:" + namespace + "|*"], port: port)
        return output.split(separator: "\n").count
    }

    @Test func slotsAreTheClustersOwn() async throws {
        let port = try #require(try Self.ports().first)
        var generator = SplitMix64(seed: 21)
        for index in 0..<40 {
            var key = "k\(index)-" + String(generator.next() % 100_000)
            if index % 4 == 0 { key = "x{tag\(index % 3)}y" }
            let slot = try await RedisTestServer.cli(["CLUSTER", "KEYSLOT", key], port: port)
            #expect(Int(slot) == RedisKeySlot.slot(of: key), "\(key)")
        }
    }

    @Test func aNamespaceSpreadsOverEveryPrimaryAndDeleteAllRemovesItFromEachAndNothingElse() async throws {
        let namespace = "spread-" + UUID().uuidString.prefix(8).lowercased()
        let store = try RedisTestServer.Server.cluster.freshNamespace().withNamespace(namespace)
        for index in 0..<300 {
            try await store.set("key-\(index)", value: ByteBuffer(string: "\(index)"), expiresIn: .seconds(120))
        }
        let primaries = try await Self.primaryPorts()
        #expect(primaries.count == 3)
        var total = 0
        for port in primaries {
            let held = try await Self.count(namespace: namespace, port: port)
            #expect(held > 0, "the primary on \(port) holds some of the namespace's keys")
            total += held
        }
        #expect(total == 300)
        let listed = try await store.keys(withPrefix: "key-").collect()
        #expect(Set(listed).count == 300 && listed.count == 300, "listed once each, from every primary")

        // A key Stash did not write, on each primary (hash tags choose the slots), must survive deleteAll.
        let foreign = ["{a}foreign", "{b}foreign", "{c}foreign", "{d}foreign", "{e}foreign"]
        for key in foreign {
            _ = try await RedisTestServer.cli(["-c", "SET", key, "kept"], port: primaries[0])
        }
        try await store.deleteAll()
        #expect(try await store.keys(withPrefix: "").collect().isEmpty)
        for port in primaries {
            #expect(try await Self.count(namespace: namespace, port: port) == 0, "removed from the primary on \(port)")
        }
        for key in foreign {
            #expect(try await RedisTestServer.cli(["-c", "GET", key], port: primaries[0]) == "kept", "\(key)")
            _ = try await RedisTestServer.cli(["-c", "DEL", key], port: primaries[0])
        }
    }

    @Test func aClusterURLNamesItsSeeds() throws {
        let configuration = try RedisConfiguration(url: "redis+cluster://app:secret@10.0.0.1:7000,10.0.0.2,[::1]:7002/")
        #expect(
            configuration.cluster == [
                RedisNodeAddress(host: "10.0.0.1", port: 7000), RedisNodeAddress(host: "10.0.0.2", port: 6379),
                RedisNodeAddress(host: "::1", port: 7002),
            ]
        )
        #expect(configuration.username == "app" && configuration.password == "secret")
        #expect(try RedisConfiguration(url: "rediss+cluster://10.0.0.1:7000").tls != nil)
        for bad in ["redis+cluster://h:1/2", "redis+cluster://", "redis://h1:1,h2:2"] {
            let error = #expect(throws: StoreError.self) { try RedisConfiguration(url: bad) }
            #expect(error?.code == .invalidConfiguration, "\(bad)")
        }
        let error = #expect(throws: StoreError.self) { try RedisStore(configuration: RedisConfiguration(database: 1, cluster: [.init(host: "h")])) }
        #expect(error?.code == .invalidConfiguration)
    }

    @Test func aSeedThatIsDownIsPassedOver() async throws {
        let ports = try Self.ports()
        var configuration = try RedisConfiguration(url: "redis+cluster://127.0.0.1:1,127.0.0.1:\(ports[2])/")
        configuration.connectTimeout = .seconds(2)
        let store = try RedisStore(configuration: configuration).withNamespace("seeds-" + UUID().uuidString.prefix(8).lowercased())
        try await store.set("k", value: ByteBuffer(string: "v"), expiresIn: .seconds(30))
        #expect(try await store.get("k").map { String(buffer: $0) } == "v")
        try await store.deleteAll()
    }

    @Test(arguments: [(maximum: 4, perPrimary: 1), (maximum: 6, perPrimary: 2)])
    func theConnectionsAreSharedOutAmongThePrimaries(maximum: Int, perPrimary: Int) async throws {
        let name = "share-" + UUID().uuidString.prefix(8).lowercased()
        var configuration = try RedisConfiguration(url: RedisTestServer.Server.cluster.url())
        configuration.maximumConnections = maximum
        configuration.connectionName = name
        let store = try RedisStore(configuration: configuration).withNamespace(name)
        // Enough concurrent commands on every primary for each pool to open all it may.
        for _ in 0..<3 {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<256 {
                    group.addTask { try await store.set("key-\(index)", value: ByteBuffer(string: "v"), expiresIn: .seconds(60)) }
                }
                try await group.waitForAll()
            }
        }
        for port in try await Self.primaryPorts() {
            let clients = try await RedisTestServer.cli(["CLIENT", "LIST"], port: port)
            let ours = clients.split(separator: "\n").filter { $0.contains(" name=\(name) ") }.count
            #expect(ours == perPrimary, "the primary on \(port) has \(ours) of the store's connections")
        }
        try await store.deleteAll()
    }
}
