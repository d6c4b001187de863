import Logging
import NIOCore
import PostgresNIO
import Stash
import Synchronization

/// What every namespace of one ``PostgresStore`` shares: the client, the table's statements, the migration and
/// the claims on running the client and the purge.
final class PostgresStorage: Sendable {
    let client: PostgresClient
    /// Whether the store made the client, and so runs it in ``PostgresStore/run()``.
    let ownsClient: Bool
    /// How to reach the server, when the store made the client: used to ask why an operation timed out.
    let connection: PostgresStore.Connection?
    let configuration: PostgresStore.Configuration
    let statements: PostgresStatements
    let migration = MigrationGate()
    private let claims = Mutex(Claims())

    private struct Claims {
        var clientRunning = false
        var purging = false
    }

    init(
        client: PostgresClient,
        ownsClient: Bool,
        connection: PostgresStore.Connection?,
        configuration: PostgresStore.Configuration
    ) throws {
        try configuration.validate()
        self.client = client
        self.ownsClient = ownsClient
        self.connection = connection
        self.configuration = configuration
        self.statements = PostgresStatements(table: configuration.tableName)
    }

    var logger: Logger { self.configuration.logger }

    func claimClient() -> Bool {
        self.claims.withLock { claims in
            guard !claims.clientRunning else { return false }
            claims.clientRunning = true
            return true
        }
    }

    func claimPurge() -> Bool {
        self.claims.withLock { claims in
            guard !claims.purging else { return false }
            claims.purging = true
            return true
        }
    }

    func releasePurge() {
        self.claims.withLock { $0.purging = false }
    }

    // MARK: Running statements

    /// Runs one operation on a leased connection, after the migration, within ``PostgresStore/Configuration/timeout``.
    ///
    /// Every failure leaves as a ``StoreError``, except a `CancellationError` when the caller was cancelled and the
    /// error of an ``PostgresStore/update(_:_:)`` transform, which reach the caller as they are.
    func perform<Result: Sendable>(
        _ operation: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        do {
            if self.configuration.createsTable {
                try await self.migration.run {
                    try await self.withDeadline { connection in try await self.migrate(on: connection) }
                }
            }
            return try await self.withDeadline(operation)
        } catch {
            throw await self.storeError(from: error)
        }
    }

    /// The marker of an operation that outlived its deadline.
    struct DeadlineExceeded: Error {}

    /// Runs an operation on a leased connection, cancelling it at the deadline.
    ///
    /// The operation runs as a child task, which a timer on an event loop cancels when the timeout passes (a NIO
    /// timer, removed as soon as the operation ends, where a sleeping task's timer would stay queued for the whole
    /// timeout). Cancelling gives up waiting for a connection, or closes the connection the operation holds: a
    /// statement or a transaction that was interrupted must never leave its connection to the next operation, and
    /// postgres-nio does not stop a running statement when its task is cancelled.
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
                guard deadline.start() else { throw DeadlineExceeded() }
                defer { deadline.finish() }
                return try await client.withConnection { connection in
                    try await withTaskCancellationHandler {
                        try await operation(connection)
                    } onCancel: {
                        let _: EventLoopFuture<Void> = connection.close()
                    }
                }
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
