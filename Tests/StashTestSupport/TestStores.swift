import Foundation
package import Stash
import StashRedis

/// The stores the middleware and adapter tests run on: memory, files in a fresh directory, and a fresh namespace of
/// the Redis server `scripts/test.sh` starts (its URL in `STASH_REDIS_URL`; a missing server fails the tests).
package enum TestStores {
    package static func all() throws -> [(String, any Store)] {
        let run = UUID().uuidString.prefix(8).lowercased()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stash-tests-\(run)").path
        guard let url = ProcessInfo.processInfo.environment["STASH_REDIS_URL"], !url.isEmpty else {
            throw StoreError(.unavailable, "STASH_REDIS_URL is not set: run the tests through scripts/test.sh, which starts a redis-server")
        }
        return [
            ("memory", MemoryStore()),
            ("file", try FileStore(directory: directory)),
            ("redis", try RedisStore(url: url).withNamespace("tests-\(run)")),
        ]
    }
}
