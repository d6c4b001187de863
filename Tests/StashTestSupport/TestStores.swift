import Foundation
package import Stash
import StashRedis

/// The stores the middleware and adapter tests run on. By default memory, files in a fresh directory, and a fresh
/// namespace of the Redis server `scripts/test.sh` starts (its URL in `STASH_REDIS_URL`); `STASH_TEST_STORES` names
/// others, comma-separated, among ``names`` — `scripts/test.sh` runs these tests (and the Redis store's conformance
/// suite) again on Valkey, Redis over TLS and the two clusters in a phase of their own: with every server beside the
/// whole suite, two cores were too few. A server whose URL is missing fails the tests.
package enum TestStores {
    /// The stores `STASH_TEST_STORES` may name, and the variables their servers' URLs are in.
    package static let names: [(name: String, variable: String?)] = [
        ("memory", nil), ("file", nil), ("redis", "STASH_REDIS_URL"), ("valkey", "STASH_VALKEY_URL"),
        ("redis-tls", "STASH_REDIS_TLS_URL"), ("redis-cluster", "STASH_REDIS_CLUSTER_URL"),
        ("redis-cluster-tls", "STASH_REDIS_TLS_CLUSTER_URL"), ("redis-near-cache", "STASH_REDIS_URL"),
        ("valkey-near-cache", "STASH_VALKEY_URL"), ("redis-cluster-near-cache", "STASH_REDIS_CLUSTER_URL"),
    ]

    package static func all() throws -> [(String, any Store)] {
        let run = UUID().uuidString.prefix(8).lowercased()
        let chosen = ProcessInfo.processInfo.environment["STASH_TEST_STORES"].map { $0.split(separator: ",").map(String.init) }
        return try (chosen ?? ["memory", "file", "redis"]).map { name in
            guard let variable = Self.names.first(where: { $0.name == name })?.variable else {
                switch name {
                case "memory": return (name, MemoryStore())
                case "file":
                    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stash-tests-\(run)").path
                    return (name, try FileStore(directory: directory))
                default:
                    let known = Self.names.map(\.name).joined(separator: ", ")
                    throw StoreError(.invalidConfiguration, "STASH_TEST_STORES names \(name.debugDescription): \(known) are known")
                }
            }
            var configuration = try RedisConfiguration(url: Self.serverURL(variable))
            if name.hasSuffix("-near-cache") { configuration.nearCache = RedisNearCache() }
            // A namespace per store: two of them may share a server (valkey and valkey-near-cache).
            return (name, try RedisStore(configuration: configuration).withNamespace("tests-\(run)-\(name)"))
        }
    }

    /// The stores of ``all()`` that are servers other instances share (not memory, not files).
    package static func shared() throws -> [(String, any Store)] {
        try Self.all().filter { name, _ in Self.names.first { $0.name == name }?.variable != nil }
    }

    /// The URL of a server `scripts/test.sh` started, from its environment variable.
    /// - Throws: ``StoreError/Code/unavailable`` when it is not set.
    package static func serverURL(_ variable: String) throws -> String {
        guard let url = ProcessInfo.processInfo.environment[variable], !url.isEmpty else {
            throw StoreError(.unavailable, "\(variable) is not set: run the tests through scripts/test.sh, which starts the servers")
        }
        return url
    }
}
