import Logging
import NIOCore
import PostgresNIO

// How the store's statements reach a leased connection, and what it does with their rows.
extension PostgresStorage {
    /// The error of a statement whose connection had closed before the statement could be handed to it.
    struct ConnectionClosed: Error, CustomStringConvertible {
        var description: String { "the connection was closed before the statement was sent" }
    }

    /// Runs a statement and returns all its rows: every statement of the store goes through here.
    ///
    /// The statement is handed to the connection on the connection's event loop, and only while its channel is
    /// active; on a closed one it fails with ``ConnectionClosed``. The pool can lease a connection the server has
    /// just closed (its close reaches the pool a moment later), and postgres-nio drops a statement written after the
    /// channel has removed its handlers without ever completing it: its query then never returns, whether the
    /// connection is closed or the task cancelled, so the operation would outlive its timeout forever. Checked and
    /// written in one turn of the event loop, the statement always reaches postgres-nio's handler, which fails it
    /// when the connection closes, by the server or by the timeout (see ``withDeadline(_:)``).
    func rows(of query: PostgresQuery, on connection: PostgresConnection) async throws -> [PostgresRow] {
        let logger = self.logger
        return try await connection.eventLoop.flatSubmit {
            guard !connection.isClosed else {
                return connection.eventLoop.makeFailedFuture(ConnectionClosed())
            }
            return connection.query(query, logger: logger).map(\.rows)
        }.get()
    }

    /// Runs a statement and returns the first column of its first row, or `nil` when it returns no row.
    func first<Column: PostgresDecodable>(_ type: Column.Type, of query: PostgresQuery, on connection: PostgresConnection) async throws -> Column? {
        guard let row = try await self.rows(of: query, on: connection).first else { return nil }
        return try row.decode(Column.self)
    }

    /// Runs a statement and returns the first column of every row.
    func all<Column: PostgresDecodable>(_ type: Column.Type, of query: PostgresQuery, on connection: PostgresConnection) async throws -> [Column] {
        try await self.rows(of: query, on: connection).map { try $0.decode(Column.self) }
    }

    /// Runs a statement, dropping whatever rows it returns.
    func execute(_ query: PostgresQuery, on connection: PostgresConnection) async throws {
        _ = try await self.rows(of: query, on: connection)
    }

    /// Runs `body` in a transaction on the connection: `COMMIT` when it returns, `ROLLBACK` when it throws (and
    /// when even that fails, the connection is closed, never returned to the pool mid-transaction).
    func transaction<Result>(on connection: PostgresConnection, _ body: () async throws -> Result) async throws -> Result {
        try await self.execute("BEGIN", on: connection)
        let result: Result
        do {
            result = try await body()
        } catch {
            do {
                try await self.execute("ROLLBACK", on: connection)
            } catch {
                let _: EventLoopFuture<Void> = connection.close()
            }
            throw error
        }
        try await self.execute("COMMIT", on: connection)
        return result
    }
}
