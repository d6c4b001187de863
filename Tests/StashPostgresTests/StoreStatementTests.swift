import NIOCore
import PostgresNIO
import Stash
import Testing

@testable import StashPostgres

/// The store's prepared statements, without a server: a type per SQL text, whose name and SQL postgres-nio may read
/// whenever it likes.
@Suite struct StoreStatementTests {
    @Test func everyNumberHasATypeThatSpellsIt() {
        for number in 0...1100 {
            #expect(StatementNumbers.type(of: number).value == number)
        }
        #expect(ObjectIdentifier(StatementNumbers.type(of: 5)) == ObjectIdentifier(TwicePlusOne<Twice<TwicePlusOne<Zero>>>.self))
    }

    /// The type of a statement, from the runner's SQL.
    static func statementType(for sql: String) -> (name: String, sql: String) {
        _ = StoreStatements.runner(for: sql)
        func read<Number: StatementNumber>(_: Number.Type) -> (String, String) {
            (StoreStatement<Number>.name, StoreStatement<Number>.sql)
        }
        for number in 0..<10_000 {
            let (name, text) = read(StatementNumbers.type(of: number))
            if text == sql { return (name, text) }
        }
        Issue.record("no statement type has the SQL \(sql)")
        return ("", "")
    }

    @Test func eachSQLTextHasOneStatementWhoseNameAndSQLNeverChange() async {
        let first = "SELECT value FROM \"table_a\" WHERE namespace = $1 AND key = $2"
        let second = "SELECT value FROM \"table_b\" WHERE namespace = $1 AND key = $2"
        let a = Self.statementType(for: first)
        let b = Self.statementType(for: second)
        #expect(a.sql == first && b.sql == second)
        #expect(a.name != b.name, "two tables never share a statement name")
        #expect(a.name == StoreStatements.name(of: first) && a.name.hasPrefix("stash_") && a.name.utf8.count == 22)
        // Read from other tasks, on any thread, with nothing set around the read: the same.
        let readings = await withTaskGroup(of: (String, String).self) { group in
            for _ in 0..<16 {
                group.addTask { Self.statementType(for: first) }
            }
            var readings: [(String, String)] = []
            for await reading in group { readings.append(reading) }
            return readings
        }
        #expect(readings.allSatisfy { $0 == a })
    }
}

/// On the server: the store's statements really are named prepared statements, under the names their SQL gives.
@Suite struct StoreStatementServerTests {
    @Test func theStoresStatementsArePreparedOnTheConnectionUnderTheirNames() async throws {
        var connection = try PostgresTestServer.connection()
        connection.maximumConnections = 1
        var configuration = PostgresStore.Configuration.testing(table: PostgresTestServer.uniqueName("prepared"))
        configuration.sharedConnections = 0
        let store = try PostgresStore(connection: connection, configuration: configuration)
        try await withRunningStore(store) { store in
            try await store.set("k", value: ByteBuffer(string: "v"))
            #expect(try await store.get("k") == ByteBuffer(string: "v"))
            // The pool's one connection ran both; its session lists what it prepared.
            let query = PostgresQuery(unsafeSQL: "SELECT name FROM pg_prepared_statements WHERE name LIKE 'stash\\_%'")
            let names = try await store.storage.perform { connection in
                try await store.storage.all(String.self, of: query, on: connection)
            }
            let expected = [store.storage.statements.get, store.storage.statements.set].map { StoreStatements.name(of: $0) }
            #expect(Set(expected).isSubset(of: Set(names)), "prepared: \(names), expected \(expected)")
        }
    }
}
