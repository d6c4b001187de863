import Foundation
import NIOCore
import Stash
import StashTesting
import Testing

@testable import StashRedis

/// The rate limit's one script on the server: every decision is checked against `RateLimitRule.decide` at the
/// instant of the server's clock (`TIME`) the script read, and against what each algorithm documents — the same
/// table of scenarios the PostgreSQL function is checked with.
@Suite struct RedisRateLimitTests {
    @Test(arguments: RateLimitAgreement.Scenario.allCases)
    func theScriptDecidesAsRateLimitRuleDecides(_ scenario: RateLimitAgreement.Scenario) async throws {
        let store = try RedisTestServer.freshNamespace()
        try await RateLimitAgreement(store: store, serverMicroseconds: store.serverMicroseconds).run(scenario)
        try await store.deleteAll()
    }

    /// Two instances (two clients of the server) share weighted limits, penalties and blocks.
    @Test(arguments: [RateLimitRule.Algorithm.fixedWindow, .slidingWindow, .tokenBucket(burst: 30)])
    func twoInstancesShareWeightedLimitsPenaltiesAndBlocks(_ algorithm: RateLimitRule.Algorithm) async throws {
        let namespace = "test-" + UUID().uuidString.prefix(8).lowercased()
        let instances = try (0..<2).map { _ in try RedisStore(url: RedisTestServer.url()).withNamespace(namespace) }
        try await RateLimitSharing(instances[0], instances[1]).run(algorithm)
        try await instances[0].deleteAll()
    }
}

extension RedisStore {
    /// The server's clock (`TIME`), in microseconds since the Unix epoch: what the rate-limit script reads.
    @Sendable func serverMicroseconds() async throws -> Int64 {
        let reply = try await self.client.send(["TIME"])
        guard case .array(let parts) = reply, parts.count == 2,
            let seconds = parts[0].stringBytes.flatMap({ Int64(String(buffer: $0)) }),
            let microseconds = parts[1].stringBytes.flatMap({ Int64(String(buffer: $0)) })
        else {
            throw StoreError(.protocolError, "TIME answered \(reply)")
        }
        return seconds * 1_000_000 + microseconds
    }
}
