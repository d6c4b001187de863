import Foundation
package import Stash
import StashRedis

/// The stores the middleware and adapter tests run on: memory, files in a fresh directory, and a fresh namespace of
/// the Redis server `scripts/test.sh` starts (its URL in `STASH_REDIS_URL`; a missing server fails the tests). Valkey,
/// Redis over TLS and the cluster run the store's conformance suite (`RedisStoreConformanceTests`).
package enum TestStores {
    package static func all() throws -> [(String, any Store)] {
        let run = UUID().uuidString.prefix(8).lowercased()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stash-tests-\(run)").path
        return [
            ("memory", MemoryStore()),
            ("file", try FileStore(directory: directory)),
            ("redis", try RedisStore(url: Self.serverURL("STASH_REDIS_URL")).withNamespace("tests-\(run)")),
        ]
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
