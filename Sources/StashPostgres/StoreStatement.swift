import PostgresNIO

/// A statement of the store run as a named prepared statement: parsed and planned once per connection, then only
/// bound and executed.
///
/// postgres-nio asks a prepared statement's type for its name and SQL, where the store's statements depend on the
/// table's name, known at run time: ``StoreStatement/execute(_:on:logger:)`` sets both as task-locals around the one
/// call that reads them. The name is derived from the SQL text, so two statements (or two tables) never share one.
struct StoreStatement: PostgresPreparedStatement {
    typealias Row = PostgresRow

    @TaskLocal private static var current: (name: String, sql: String)?

    static var name: String {
        guard let current else { preconditionFailure("StoreStatement used outside StoreStatement.execute") }
        return current.name
    }

    static var sql: String {
        guard let current else { preconditionFailure("StoreStatement used outside StoreStatement.execute") }
        return current.sql
    }

    let binds: PostgresBindings

    func makeBindings() throws -> PostgresBindings {
        self.binds
    }

    func decodeRow(_ row: PostgresRow) throws -> PostgresRow {
        row
    }

    /// Runs a query as a prepared statement on the connection (preparing it first when the connection has not yet)
    /// and returns its rows.
    static func execute(_ query: PostgresQuery, on connection: PostgresConnection, logger: Logger) async throws -> [PostgresRow] {
        try await Self.$current.withValue((Self.name(of: query.sql), query.sql)) {
            var rows: [PostgresRow] = []
            for try await row in try await connection.execute(StoreStatement(binds: query.binds), logger: logger) {
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
