import Stash
import StashPostgres
import StashTesting
import Testing

@Suite struct PostgresStoreConformanceTests {
    typealias Conformance = StoreConformance<PostgresStore>

    /// Every check, in real time (the server's clock cannot be stopped), each in a namespace of its own.
    @Test(arguments: Conformance.Check.allCases)
    func conformance(_ check: Conformance.Check) async throws {
        try await withPostgresStore { root in
            try await Conformance { try root.withNamespace(PostgresTestServer.uniqueName("check")) }.run(check)
        }
    }

    /// The checks that touch a whole store, on the root of a table of their own: deleteAll there is the whole table.
    @Test(arguments: [Conformance.Check.namespaces, .deleteExpired, .keyListing, .missingKeys])
    func rootOfItsOwnTable(_ check: Conformance.Check) async throws {
        try await withPostgresStore(.testing(table: PostgresTestServer.uniqueName("root"))) { root in
            try await Conformance { root }.run(check)
        }
    }

    /// Small pages, so that key listing crosses many of them.
    @Test func keyListingAcrossSmallPages() async throws {
        var configuration = PostgresStore.Configuration.testing()
        configuration.keysPageSize = 7
        try await withPostgresStore(configuration) { root in
            try await Conformance { try root.withNamespace(PostgresTestServer.uniqueName("pages")) }.run(.keyListing)
        }
    }
}
