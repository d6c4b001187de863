import Configuration
import Foundation
import NIOCore
import Stash
import StashConfiguration
import StashPostgres
import StashRedis
import StashTestSupport
import Testing

/// Stores per feature from configuration: a root whose namespaces serve every name, URLs of their own for some, and
/// a bad URL refused at start with a typed error naming its key.
@Suite struct StoreRegistryConfigurationTests {
    static let backends: [StoreBackend] = [.memory, .file, .redis, .postgres]

    static func directory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("stash-config-\(UUID().uuidString.prefix(8))").path
    }

    static func reader(_ values: [String: String]) -> ConfigReader {
        let entries = values.map { key, value in
            (AbsoluteConfigKey(key.split(separator: ".").map(String.init)), ConfigValue(.string(value), isSecret: false))
        }
        return ConfigReader(provider: InMemoryProvider(values: Dictionary(uniqueKeysWithValues: entries)))
    }

    @Test func aFeatureMovesToRedisWhileTheOthersStayInTheRootsNamespaces() async throws {
        let redisURL = try TestStores.serverURL("STASH_REDIS_URL")
        let directory = Self.directory()
        let environment = ["STASH_ROOT": "file:\(directory)", "STASH_STORES_SESSIONS": redisURL, "STASH_STORES_RESPONSE_CACHE": "memory"]
        let config = ConfigReader(provider: EnvironmentVariablesProvider(environmentVariables: environment))
        let registry = try StoreRegistry(config: config.scoped(to: "stash"), backends: Self.backends)

        let marker = "config-test-\(UUID().uuidString.prefix(8))"
        try await registry.store(named: "sessions").set(marker, value: ByteBuffer(string: "in redis"))
        let redis = try RedisStore(url: redisURL).withNamespace("sessions")
        #expect(try await redis.get(marker) == ByteBuffer(string: "in redis"), "the sessions are the namespace `sessions` of that Redis")
        try await redis.delete(marker)

        try await registry.store(named: "rate_limit").set("k", value: ByteBuffer(string: "on disk"))
        let files = try FileStore(directory: directory).withNamespace("rate_limit")
        #expect(try await files.get("k") == ByteBuffer(string: "on disk"), "a name without a URL is the root's namespace")

        try await registry.store(named: "response_cache").set("k", value: ByteBuffer(string: "in memory"))
        #expect(try await FileStore(directory: directory).withNamespace("response_cache").get("k") == nil, "the cache is in memory")
        #expect(try await registry.store(named: "response_cache").get("k") == ByteBuffer(string: "in memory"))
        try? FileManager.default.removeItem(atPath: directory)
    }

    @Test func nothingConfiguredIsOneMemoryStoreWhoseNamespacesServeEveryName() async throws {
        let registry = try StoreRegistry(config: Self.reader([:]), backends: Self.backends)
        let sessions = try registry.store(named: "sessions")
        try await sessions.set("k", value: ByteBuffer(string: "v"))
        #expect(try await registry.store(named: "rate_limit").get("k") == nil, "namespaces apart")
        #expect(try await registry.store(named: "sessions").get("k") == ByteBuffer(string: "v"))
    }

    @Test func equalURLsShareOneStore() async throws {
        let directory = Self.directory()
        let registry = try StoreRegistry(
            root: "file:\(directory)",
            stores: ["sessions": "file:\(directory)", "rate_limit": "file://\(directory)"],
            backends: Self.backends
        )
        try await registry.store(named: "sessions").set("k", value: ByteBuffer(string: "v"))
        #expect(try await FileStore(directory: directory).withNamespace("sessions").get("k") == ByteBuffer(string: "v"))
        try await registry.store(named: "rate_limit").set("k", value: ByteBuffer(string: "w"))
        #expect(try await FileStore(directory: directory).withNamespace("rate_limit").get("k") == ByteBuffer(string: "w"))
        try? FileManager.default.removeItem(atPath: directory)
    }

    @Test func aBadURLFailsAtStartNamingItsKeyAndHidingItsPassword() async throws {
        let cases: [([String: String], String)] = [
            (["stores.sessions": "mongodb://db/sessions"], "stores.sessions"),
            (["root": "redis://user:hunter2@cache:notaport/0"], "root"),
            (["stores.rate_limit": "postgres://app:hunter2@db:5432/app?sslmode=sometimes"], "stores.rate_limit"),
            (["stores.response_cache": "file:"], "stores.response_cache"),
            (["root": "memory:please"], "root"),
        ]
        for (values, key) in cases {
            do {
                _ = try StoreRegistry(config: Self.reader(values), backends: Self.backends)
                Issue.record("\(values) was accepted")
            } catch let error as StoreError {
                #expect(error.code == .invalidConfiguration, "\(values): \(error)")
                #expect(error.message.contains("configuration key \(key)"), "\(error.message)")
                #expect(!error.description.contains("hunter2"), "the password is redacted: \(error)")
            }
        }
        // Only the backends given: without .redis, a Redis URL is no store URL.
        #expect(throws: StoreError.self) {
            try StoreRegistry(root: "redis://127.0.0.1:6379", backends: [.memory, .file])
        }
    }
}
