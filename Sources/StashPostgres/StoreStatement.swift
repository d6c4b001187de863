import Logging
import PostgresNIO
import Stash

/// A statement of the store run as a named prepared statement: parsed and planned once per connection, then only
/// bound and executed.
///
/// postgres-nio asks a prepared statement's type for its name and SQL, where the store's SQL depends on the table's
/// name, known at run time. Each distinct SQL text of the process is therefore given a number, once and for good, and
/// its statement is `StoreStatement<N>` for the type spelling that number (``StatementNumber``): its `name` and `sql`
/// are the same whenever and on whatever thread postgres-nio reads them. The name is derived from the SQL text, so
/// two statements (or two tables) never share one, on any connection.
struct StoreStatement<Number: StatementNumber>: PostgresPreparedStatement {
    typealias Row = PostgresRow

    static var name: String { StoreStatements.entry(Number.value).name }
    static var sql: String { StoreStatements.entry(Number.value).sql }

    let binds: PostgresBindings

    func makeBindings() throws -> PostgresBindings {
        self.binds
    }

    func decodeRow(_ row: PostgresRow) throws -> PostgresRow {
        row
    }
}

/// The prepared statements of the process, by SQL text: each gets a number and a runner, once.
enum StoreStatements {
    /// Runs a statement on a connection and returns its rows.
    typealias Runner = @Sendable (PostgresBindings, PostgresConnection, Logger) async throws -> [PostgresRow]

    private struct Catalog {
        var entries: [(name: String, sql: String)] = []
        var runners: [String: Runner] = [:]
    }

    private static let catalog = Locked(Catalog())

    /// Runs a query as a prepared statement on the connection (preparing it first when the connection has not yet)
    /// and returns its rows.
    static func execute(_ query: PostgresQuery, on connection: PostgresConnection, logger: Logger) async throws -> [PostgresRow] {
        try await Self.runner(for: query.sql)(query.binds, connection, logger)
    }

    /// The runner of a SQL text, made (with the text's number) the first time.
    static func runner(for sql: String) -> Runner {
        Self.catalog.withLock { catalog in
            if let runner = catalog.runners[sql] { return runner }
            let number = catalog.entries.count
            catalog.entries.append((Self.name(of: sql), sql))
            let runner = Self.runner(StatementNumbers.type(of: number))
            catalog.runners[sql] = runner
            return runner
        }
    }

    /// The name and SQL of a numbered statement.
    static func entry(_ number: Int) -> (name: String, sql: String) {
        Self.catalog.withLock { $0.entries[number] }
    }

    private static func runner<Number: StatementNumber>(_: Number.Type) -> Runner {
        { binds, connection, logger in
            var rows: [PostgresRow] = []
            for try await row in try await connection.execute(StoreStatement<Number>(binds: binds), logger: logger) {
                rows.append(row)
            }
            return rows
        }
    }

    /// `stash_` and the 64-bit FNV-1a hash of the SQL in hexadecimal: the same for the same text on every connection
    /// and in every process.
    static func name(of sql: String) -> String {
        let hex = String(FNV1a.hash(sql), radix: 16)
        return "stash_" + String(repeating: "0", count: 16 - hex.count) + hex
    }
}
