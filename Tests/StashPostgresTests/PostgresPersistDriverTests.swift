import StashHummingbird
import StashTestSupport
import Testing

@testable import StashPostgres

/// Hummingbird's persist API on PostgreSQL: the checks every store passes.
@Suite struct PostgresPersistDriverTests {
    @Test func thePersistAPIOnPostgreSQL() async throws {
        try await withPostgresStore(.testing(table: PostgresTestServer.uniqueName("persist"))) { store -> Void in
            try await PersistDriverChecks.run(StorePersistDriver(store: store), name: "postgres")
        }
    }
}
