import Foundation
import Stash
import StashRedis

/// The stores every middleware test runs on: memory, files, and the Redis server `scripts/test.sh` starts.
enum TestStores {
    static func all() throws -> [(String, any Store)] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stash-middleware-\(UUID().uuidString)").path
        guard let url = ProcessInfo.processInfo.environment["STASH_REDIS_URL"], !url.isEmpty else {
            throw StoreError(.unavailable, "STASH_REDIS_URL is not set: run the tests through scripts/test.sh, which starts a redis-server")
        }
        return [
            ("memory", MemoryStore()),
            ("file", try FileStore(directory: directory)),
            ("redis", try RedisStore(url: url).withNamespace("middleware-\(UUID().uuidString.prefix(8).lowercased())")),
        ]
    }
}
