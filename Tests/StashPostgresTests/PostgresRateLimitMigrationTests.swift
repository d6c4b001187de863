import NIOCore
import Stash
import StashTesting
import Testing

@testable import StashPostgres

/// The migration's rate-limit function: added to tables made before it existed, named in full for the longest table
/// name, and part of the documented SQL.
@Suite struct PostgresRateLimitMigrationTests {
    /// 3 a day, in fixed windows.
    static func rule() throws -> RateLimitRule {
        try RateLimitRule(limit: 3, per: .seconds(86_400))
    }

    /// Whether the table's rate-limit function exists, asked with psql.
    static func functionExists(table: String) async throws -> Bool {
        let signature = PostgresStatements.rateLimitFunctionSignature("\"\(table)_rate_limit\"")
        return try await psql("SELECT to_regprocedure('\(signature)') IS NOT NULL") == "t"
    }

    @Test func aTableFromTheEarlierMigrationGetsTheFunctionOnTheNextStart() async throws {
        let table = PostgresTestServer.uniqueName("earlier")
        // What the migration made before the rate limit had a function: the table and its index only.
        let statements = PostgresStatements(table: table)
        _ = try await psql(statements.createTable + ";\n" + statements.createIndex + ";")
        #expect(try await Self.functionExists(table: table) == false)

        var premade = PostgresStore.Configuration.testing(table: table)
        premade.createsTable = false
        try await withPostgresStore(premade) { store in
            try await store.set("k", value: ByteBuffer(string: "v"))
            await expectStoreError([.serverError], "a rate limit on a table without its function, which the store may not create") {
                try await store.rateLimit("client", rule: Self.rule())
            }
        }
        #expect(try await Self.functionExists(table: table) == false, "a store that does not migrate creates nothing")

        try await withPostgresStore(.testing(table: table)) { store in
            #expect(try await store.get("k") == ByteBuffer(string: "v"), "the migration kept the table's rows")
            let decision = try await store.rateLimit("client", rule: Self.rule())
            #expect(decision.isAllowed && decision.remaining == 2)
        }
        #expect(try await Self.functionExists(table: table), "the store's migration added the function")
    }

    @Test func theLongestTableNameNamesItsFunctionInFull() async throws {
        let prefix = PostgresTestServer.uniqueName("longest")
        let table = prefix + String(repeating: "x", count: PostgresStore.Configuration.maximumTableNameLength - prefix.utf8.count)
        #expect(table.utf8.count == 52)
        let rule = try Self.rule()
        try await withPostgresStore(.testing(table: table)) { store in
            let first = try await store.rateLimit("client", rule: rule)
            let second = try await store.rateLimit("client", rule: rule)
            #expect(first.remaining == 2 && second.remaining == 1, "\(first), \(second)")
        }
        // 63 bytes: PostgreSQL's longest identifier, not truncated.
        #expect(try await psql("SELECT count(*) FROM pg_proc WHERE proname = '\(table)_rate_limit'") == "1")
        #expect(try await Self.functionExists(table: table))
    }

    @Test func theDocumentedSQLCreatesTheFunctionTheStoreCalls() async throws {
        let table = PostgresTestServer.uniqueName("documented")
        let sql = try PostgresSchema.migrationSQL(table: table)
        #expect(sql.contains("CREATE OR REPLACE FUNCTION \"\(table)_rate_limit\"("))
        _ = try await psql(sql)
        // Running it again replaces the function and leaves the table.
        let again = try await psql(sql)
        #expect(again.contains("already exists, skipping") && !again.contains("ERROR"), "\(again)")

        var premade = PostgresStore.Configuration.testing(table: table)
        premade.createsTable = false
        try await withPostgresStore(premade) { store in
            var decisions: [RateLimitDecision] = []
            for _ in 0..<4 {
                decisions.append(try await store.checkedRateLimit("client", rule: Self.rule()))
            }
            #expect(decisions.map(\.isAllowed) == [true, true, true, false])
        }
    }
}
