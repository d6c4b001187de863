import Stash
import StashRedis
import StashTesting
import Testing

@Suite struct RedisStoreConformanceTests {
    typealias Conformance = StoreConformance<RedisStore>

    /// Every row of the contract against each real server `STASH_TEST_STORES` names (by default the plain
    /// redis-server; `scripts/test.sh` names Valkey, TLS and the clusters in a phase of their own), each in a namespace
    /// of its own (the server keeps time).
    @Test(arguments: RedisTestServer.Server.chosen, Conformance.Check.allCases)
    func conformance(_ server: RedisTestServer.Server, _ check: Conformance.Check) async throws {
        try await Conformance { try server.freshNamespace() }.run(check)
    }
}
