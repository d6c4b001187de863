import Stash
import StashPostgres
import StashTesting
import Testing

/// The rate limit's one statement on the server: every decision is checked against `RateLimitRule.decide` at the
/// instant of the server's clock the function read, and against what each algorithm documents — the same table of
/// scenarios the Redis script is checked with.
@Suite struct PostgresRateLimitTests {
    @Test(arguments: RateLimitAgreement.Scenario.allCases)
    func theServerDecidesAsRateLimitRuleDecides(_ scenario: RateLimitAgreement.Scenario) async throws {
        try await withPostgresStore { root in
            let store = try root.withNamespace(PostgresTestServer.uniqueName(scenario.rawValue))
            try await RateLimitAgreement(store: store, serverMicroseconds: store.serverMicroseconds).run(scenario)
        }
    }
}
