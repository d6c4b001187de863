import Stash
import StashRedis
import StashTesting
import Testing

@Suite struct RedisStoreConformanceTests {
    typealias Conformance = StoreConformance<RedisStore>

    /// Every row of the contract against the real server, each in a namespace of its own (Redis keeps time).
    @Test(arguments: Conformance.Check.allCases)
    func conformance(_ check: Conformance.Check) async throws {
        try await Conformance { try RedisTestServer.freshNamespace() }.run(check)
    }
}
