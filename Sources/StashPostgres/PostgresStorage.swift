import Logging
import NIOCore
import PostgresNIO
import Stash

/// What every namespace of one ``PostgresStore`` shares: the client, the table's statements, the migration, the
/// shared connections, and the owner of the service that runs them.
final class PostgresStorage: Sendable {
    let client: PostgresClient
    /// How to reach the server, when the store made the client: used to ask why an operation timed out.
    let connection: PostgresStore.Connection?
    let configuration: PostgresStore.Configuration
    let statements: PostgresStatements
    let migration = MigrationGate()
    /// The executors of the event loops the connections run on.
    let executors = EventLoopExecutors()
    /// The connections single statements share while the store runs.
    let lanes = ConnectionLanes()
    /// The owner of the service (the pool, the shared connections, the purge) the store and its namespaces share.
    let serviceOwner: StoreService.Owner

    init(
        client: PostgresClient,
        connection: PostgresStore.Connection?,
        configuration: PostgresStore.Configuration
    ) throws {
        try configuration.validate()
        self.client = client
        self.connection = connection
        self.configuration = configuration
        self.statements = PostgresStatements(table: configuration.tableName)
        self.serviceOwner = StoreService.Owner("the PostgresStore of table \(configuration.tableName)")
    }

    var logger: Logger { self.configuration.logger }

    /// Whether the store made the client, and so runs it in its ``PostgresStore/service``.
    var ownsClient: Bool { self.connection != nil }

    /// How many connections single statements share: ``PostgresStore/Configuration/sharedConnections``, and at most
    /// half of the pool the store made.
    var sharedConnections: Int {
        guard let connection = self.connection else { return self.configuration.sharedConnections }
        return min(self.configuration.sharedConnections, connection.maximumConnections / 2)
    }

    // MARK: Running statements

    /// Runs one statement, after the migration, within ``PostgresStore/Configuration/timeout``: on the least busy of
    /// the connections the running store shares (``ConnectionLanes``), waiting for one while they connect, else (the
    /// store keeps none, or all are stalled) on a leased connection of its own, as ``perform(_:)`` runs it.
    ///
    /// Every failure leaves as a ``/Stash/StoreError``, except a `CancellationError` when the caller was cancelled.
    func single(_ query: PostgresQuery) async throws -> [PostgresRow] {
        do {
            try await self.migrateIfNeeded()
            let deadline = ContinuousClock.now + self.configuration.timeout
            while case .lane(let lane) = try await self.lanes.lane(before: deadline) {
                let rows = try await lane.run(before: deadline) { connection in
                    try await self.rows(of: query, on: connection)
                }
                if let rows { return rows }
                // The lane closed before the statement reached it: another one.
            }
        } catch {
            throw await self.storeError(from: error)
        }
        return try await self.perform { connection in try await self.rows(of: query, on: connection) }
    }

    /// Runs one operation on a leased connection, after the migration, within ``PostgresStore/Configuration/timeout``.
    ///
    /// Every failure leaves as a ``/Stash/StoreError``, except a `CancellationError` when the caller was cancelled and the
    /// error of an ``PostgresStore/update(_:_:)`` transform, which reach the caller as they are.
    func perform<Result: Sendable>(
        _ operation: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        do {
            try await self.migrateIfNeeded()
            return try await self.withDeadline(operation)
        } catch {
            throw await self.storeError(from: error)
        }
    }

    /// Runs the migration when the store creates its table and no operation has run it yet.
    private func migrateIfNeeded() async throws {
        guard self.configuration.createsTable else { return }
        try await self.migration.run {
            try await self.withDeadline { connection in try await self.migrate(on: connection) }
        }
    }

    /// The marker of an operation that outlived its deadline.
    struct DeadlineExceeded: Error {}

    /// Runs an operation on a leased connection, cancelling it at the deadline.
    ///
    /// The operation runs as a child task; the parent waits for its end or for a timer on an event loop (a NIO timer,
    /// removed as soon as the operation ends, where a sleeping task's timer would stay queued for the whole timeout),
    /// and cancels the group when the timer comes first. Cancelling gives up waiting for a connection, or closes the
    /// connection the operation holds: a statement or a transaction that was interrupted must never leave its
    /// connection to the next operation, and postgres-nio does not stop a running statement when its task is
    /// cancelled.
    func withDeadline<Result: Sendable>(
        _ operation: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let deadline = OperationDeadline()
        let client = self.client
        let timer = PostgresConnection.defaultEventLoopGroup.any().scheduleTask(in: TimeAmount(self.configuration.timeout)) {
            deadline.expire()
        }
        defer { timer.cancel() }
        return try await withThrowingTaskGroup(of: Result.self) { group in
            group.addTask {
                defer { deadline.finish() }
                guard !deadline.hasExpired else { throw DeadlineExceeded() }
                while true {
                    do {
                        return try await client.withConnection { connection in
                            try await withTaskCancellationHandler {
                                try await operation(connection)
                            } onCancel: {
                                let _: EventLoopFuture<Void> = connection.close()
                            }
                        }
                    } catch is ConnectionClosed {
                        // The pool handed out a connection that had just closed (one the store closed after a statement
                        // it could not prepare, say, before the pool heard of it): the statement never reached it. A
                        // transaction it interrupted never committed, and the other operations can run again, so the
                        // operation runs again on another connection, after a moment for the pool to hear of the close.
                        try await Task.sleep(for: .milliseconds(1))
                    }
                }
            }
            if await !deadline.wait() {
                group.cancelAll()
            }
            do {
                guard let result = try await group.next() else { throw DeadlineExceeded() }
                return result
            } catch {
                // Whatever the cancelled operation threw (a closed connection, a cancelled lease), it timed out.
                if deadline.hasExpired { throw DeadlineExceeded() }
                throw error
            }
        }
    }
}
