import Logging
import NIOCore
import PostgresNIO
import Stash

// How the store's statements reach a leased connection, and what it does with their rows.
extension PostgresStorage {
    /// The error of a statement whose connection had closed before the statement could be handed to it.
    struct ConnectionClosed: Error, CustomStringConvertible {
        var description: String { "the connection was closed before the statement was sent" }
    }

    /// Runs a statement and returns all its rows: every statement of the store goes through here.
    ///
    /// The statement runs on the connection's event loop (the task prefers that loop's executor) and is handed to
    /// the connection only while its channel is active; on a closed one it fails with ``ConnectionClosed``. The pool
    /// can lease a connection the server has just closed (its close reaches the pool a moment later), and
    /// postgres-nio drops a statement written after the channel has removed its handlers without ever completing it:
    /// its query then never returns, whether the connection is closed or the task cancelled, so the operation would
    /// outlive its timeout forever. Checked and written in one turn of the event loop, the statement always reaches
    /// postgres-nio's handler, which fails it when the connection closes, by the server or by the timeout (see
    /// ``withDeadline(_:)``). Its reply resumes the task on that loop too, with no hop to another thread.
    ///
    /// A statement with parameters runs as a prepared statement when ``PostgresStore/Configuration/preparesStatements``
    /// is on. postgres-nio remembers a failed preparation for the connection's lifetime, so a statement the server
    /// rejects as invalid (a table created or changed after the connection prepared against it, say) closes the
    /// connection, and the next one prepares it afresh.
    func rows(of query: PostgresQuery, on connection: PostgresConnection) async throws -> [PostgresRow] {
        let logger = self.logger
        let prepared = self.configuration.preparesStatements && query.binds.count > 0
        return try await withTaskExecutorPreference(self.executors.executor(for: connection.eventLoop)) {
            guard !connection.isClosed else { throw ConnectionClosed() }
            do {
                if prepared {
                    return try await StoreStatements.execute(query, on: connection, logger: logger)
                }
                var rows: [PostgresRow] = []
                for try await row in try await connection.query(query, logger: logger) {
                    rows.append(row)
                }
                return rows
            } catch let error as PSQLError where prepared && Self.invalidatesPreparedStatements(error) {
                let _: EventLoopFuture<Void> = connection.close()
                throw error
            }
        }
    }

    /// Whether the server rejected a statement in a way postgres-nio would remember for the connection's lifetime:
    /// SQLSTATE classes 42 (syntax error or access rule violation: an undefined table, a changed column), 0A (feature
    /// not supported: "cached plan must not change result type") and 26 (invalid statement name).
    static func invalidatesPreparedStatements(_ error: PSQLError) -> Bool {
        guard error.code == .server, let state = error.serverInfo?[.sqlState] else { return false }
        return state.hasPrefix("42") || state.hasPrefix("0A") || state.hasPrefix("26")
    }

    /// Runs one statement that calls one of the table's functions (see ``single(_:)``); when PostgreSQL has no such
    /// function (a table migrated by hand with an earlier ``PostgresSchema/migrationSQL(table:)``), the error says so.
    func calling(_ function: String, _ query: PostgresQuery) async throws -> [PostgresRow] {
        do {
            return try await self.single(query)
        } catch let error as StoreError where Self.sqlState(of: error) == "42883" {
            throw StoreError(
                .serverError,
                "PostgreSQL has no function \(function): run the migration of PostgresSchema.migrationSQL(table:) again",
                underlying: error.underlying
            )
        }
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

    /// Runs a statement on its own (see ``single(_:)``) and returns the first column of its first row, or `nil`.
    func first<Column: PostgresDecodable>(_ type: Column.Type, of query: PostgresQuery) async throws -> Column? {
        guard let row = try await self.single(query).first else { return nil }
        do {
            return try row.decode(Column.self)
        } catch {
            throw Self.storeError(error)
        }
    }

    /// Runs a statement on its own (see ``single(_:)``) and returns the first column of every row.
    func all<Column: PostgresDecodable>(_ type: Column.Type, of query: PostgresQuery) async throws -> [Column] {
        let rows = try await self.single(query)
        do {
            return try rows.map { try $0.decode(Column.self) }
        } catch {
            throw Self.storeError(error)
        }
    }

    /// Runs a statement on its own (see ``single(_:)``), dropping whatever rows it returns.
    func execute(_ query: PostgresQuery) async throws {
        _ = try await self.single(query)
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
