import Foundation
import Logging
import NIOCore
import Stash
import StashTestSupport
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

    /// Whether the table's rate-limit function carries this revision's marker, asked with psql.
    static func functionIsCurrent(table: String) async throws -> Bool {
        let signature = PostgresStatements.rateLimitFunctionSignature("\"\(table)_rate_limit\"")
        let marker = PostgresStatements.rateLimitFunctionRevision
        return try await psql("SELECT position('\(marker)' IN prosrc) > 0 FROM pg_proc WHERE oid = to_regprocedure('\(signature)')") == "t"
    }

    /// Makes the table's rate-limit function look like one of an earlier revision: the same body with the first
    /// revision's marker, as an earlier release left it.
    static func makeFunctionOlder(table: String) async throws {
        let current = PostgresStatements(table: table).createRateLimitFunction
        let older = current.replacingOccurrences(of: PostgresStatements.rateLimitFunctionRevision, with: "stash rate-limit function, revision 1")
        _ = try await psql(older)
        #expect(try await Self.functionIsCurrent(table: table) == false)
    }

    @Test func aFunctionOfAnOlderRevisionIsReplacedOnTheNextStart() async throws {
        let table = PostgresTestServer.uniqueName("revised")
        try await withPostgresStore(.testing(table: table)) { store in
            let first = try await store.rateLimit("client", rule: Self.rule())
            #expect(first.remaining == 2)
        }
        #expect(try await Self.functionIsCurrent(table: table))
        try await Self.makeFunctionOlder(table: table)

        try await withPostgresStore(.testing(table: table)) { store in
            let decision = try await store.rateLimit("client", rule: Self.rule())
            #expect(decision.isAllowed && decision.remaining == 1, "the state stayed through the replacement")
        }
        #expect(try await Self.functionIsCurrent(table: table), "the migration replaced the older function")
    }

    /// A role that may use the table but not replace its functions (PostgreSQL 15 gives `PUBLIC` no `CREATE` on the
    /// `public` schema) keeps working with an older function, and is told why it is not replaced.
    @Test func aRoleThatMayNotReplaceAnOlderFunctionKeepsUsingIt() async throws {
        let table = PostgresTestServer.uniqueName("tenant")
        try await withPostgresStore(.testing(table: table)) { store in
            try await store.set("k", value: ByteBuffer(string: "v"))
        }
        try await Self.makeFunctionOlder(table: table)
        let role = PostgresTestServer.uniqueName("tenant")
        // The test server trusts loopback connections: the superuser makes the role, the table's owner grants it
        // the rows.
        _ = try await psql("CREATE ROLE \(role) LOGIN", as: "postgres")
        _ = try await psql("GRANT SELECT, INSERT, UPDATE, DELETE ON \"\(table)\" TO \(role)")

        let logs = CapturedLogs()
        var configuration = PostgresStore.Configuration.testing(table: table)
        configuration.logger = Logger(label: "test") { _ in CapturedLogs.Handler(logs: logs) }
        var connection = try PostgresTestServer.connection()
        connection.username = role
        let store = try PostgresStore(connection: connection, configuration: configuration)
        try await withRunningStore(store) { store in
            #expect(try await store.get("k") == ByteBuffer(string: "v"))
            let decision = try await store.rateLimit("client", rule: Self.rule())
            #expect(decision.isAllowed && decision.remaining == 2, "the older function still decides")
        }
        #expect(logs.warnings.filter { $0.contains("older revision") }.count == 1, "\(logs.warnings)")
        #expect(try await Self.functionIsCurrent(table: table) == false, "the role replaced nothing")
        _ = try await psql("DROP OWNED BY \(role); DROP ROLE \(role)", as: "postgres")
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
