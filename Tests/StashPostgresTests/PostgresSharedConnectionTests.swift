import Foundation
import Logging
import NIOCore
import PostgresNIO
import Stash
import StashTesting
import Testing

@testable import StashPostgres

/// The connections a running store shares among single statements, and the prepared statements it runs on them.
@Suite(.timeLimit(.minutes(2)))
struct PostgresSharedConnectionTests {
    @Test func aStatementBlockedPastItsTimeoutFailsInTimeAndTheStoreGoesOn() async throws {
        let table = try await Self.makeTable("overrun")
        try await withPostgresStore(Self.twoSharedConnections(table: table, timeout: .seconds(3))) { store in
            // The first operation waits for the store's shared connections, which a busy machine may take longer than
            // the short timeout to open.
            try await Self.retryingTimeouts { try await store.set("locked", value: ByteBuffer(string: "v")) }
            try await RowLock.holding(table: table, key: "locked") { _ in
                let started = ContinuousClock.now
                await expectStoreError([.timedOut], "a write waiting on a lock past the store's timeout") {
                    try await store.set("locked", value: ByteBuffer(string: "w"))
                }
                let waited = ContinuousClock.now - started
                #expect(waited < .seconds(8), "the store's timeout ended the wait, while the lock was still held: \(waited)")
            }
            // The same store, with the connection it closed replaced, serves every operation again.
            for task in 0..<8 {
                try await store.set("key\(task)", value: ByteBuffer(string: "\(task)"))
                #expect(try await store.get("key\(task)") == ByteBuffer(string: "\(task)"))
            }
        }
    }

    @Test func aStatementWaitingOnALockHoldsUpNoOperationStartedAfterIt() async throws {
        let table = try await Self.makeTable("stall")
        try await withPostgresStore(Self.twoSharedConnections(table: table, timeout: .seconds(20))) { store in
            try await store.set("locked", value: ByteBuffer(string: "v"))
            try await RowLock.holding(table: table, key: "locked") { lock in
                async let blocked: Void = store.set("locked", value: ByteBuffer(string: "w"))
                try await lock.waitForAWaiter()
                // Longer than a lane may go without finishing a statement before it counts as stalled.
                try await Task.sleep(for: ConnectionLane.stallThreshold * 5)
                // Operations on other rows finish while the lock is still held: none queues behind the waiting write
                // on its connection (where it would wait for the lock, then time out).
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for task in 0..<32 {
                        group.addTask {
                            try await store.set("key\(task)", value: ByteBuffer(string: "\(task)"))
                            #expect(try await store.get("key\(task)") == ByteBuffer(string: "\(task)"))
                        }
                    }
                    try await group.waitForAll()
                }
                #expect(try await lock.waiters() == 1, "the write still waits for the lock")
                try await lock.release()
                try await blocked
            }
            #expect(try await store.get("locked") == ByteBuffer(string: "w"), "the write that waited landed")
        }
    }

    /// Runs `operation` until it does not time out, for at most a minute.
    static func retryingTimeouts(_ operation: () async throws -> Void) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            do {
                return try await operation()
            } catch let error as StoreError where error.code == .timedOut && ContinuousClock.now < deadline {
                continue
            }
        }
    }

    /// A store on a table made beforehand, with two shared connections (of a pool of 8) and a short timeout.
    static func twoSharedConnections(table: String, timeout: Duration) -> PostgresStore.Configuration {
        var configuration = PostgresStore.Configuration.testing(table: table)
        configuration.createsTable = false
        configuration.timeout = timeout
        configuration.sharedConnections = 2
        return configuration
    }

    /// A table of the store's schema, made beforehand so that no migration races a test's short timeout.
    static func makeTable(_ prefix: String) async throws -> String {
        let table = PostgresTestServer.uniqueName(prefix)
        _ = try await psql(try PostgresSchema.migrationSQL(table: table))
        return table
    }

    @Test func statementsPreparedBeforeTheTableExistedWorkOnceItDoes() async throws {
        let table = PostgresTestServer.uniqueName("later")
        var configuration = PostgresStore.Configuration.testing(table: table)
        configuration.createsTable = false
        try await withPostgresStore(configuration) { store in
            for _ in 0..<8 {
                await expectStoreError([.serverError], "a read from a table that does not exist yet") {
                    try await store.get("k")
                }
            }
            _ = try await psql(try PostgresSchema.migrationSQL(table: table))
            // A connection that failed to prepare a statement is closed, so none keeps the failure.
            for attempt in 0..<16 {
                try await store.set("k\(attempt)", value: ByteBuffer(string: "v"))
                #expect(try await store.get("k\(attempt)") == ByteBuffer(string: "v"))
            }
        }
    }

    @Test(arguments: [true, false])
    func everyStatementRunsWithAndWithoutPreparedStatementsAndSharedConnections(_ shared: Bool) async throws {
        var configuration = PostgresStore.Configuration.testing(table: PostgresTestServer.uniqueName("modes"))
        configuration.preparesStatements = shared
        configuration.sharedConnections = shared ? 4 : 0
        try await withPostgresStore(configuration) { store in
            let space = try store.withNamespace("a")
            try await space.set("k", value: ByteBuffer(string: "v"), expiresIn: .seconds(60))
            #expect(try await space.get("k", renewingFor: .seconds(120)) == ByteBuffer(string: "v"))
            #expect(try await space.insert("k", value: ByteBuffer(string: "x"), expiresIn: nil) == false)
            #expect(try await space.exists("k"))
            #expect(try await space.increment("n", by: 5) == 5)
            #expect(try await space.increment("n", by: 2) == 7)
            #expect(Set(try await space.keys(withPrefix: "").collect()) == ["k", "n"])
            let decision = try await space.rateLimit("client", rule: try RateLimitRule(limit: 3, per: .seconds(60)))
            #expect(decision.isAllowed && decision.remaining == 2, "\(decision)")
            try await space.delete("k")
            #expect(try await space.get("k") == nil)
        }
    }
}

/// The lock of one row, held by a transaction on a connection of its own (another session, as far as the store can
/// tell) until released.
struct RowLock {
    let connection: PostgresConnection
    let logger = Logger(label: "stash.tests.row-lock")

    /// Locks the row of `key` in the root namespace of `table` while `body` runs, then releases it if `body` has not.
    static func holding<Result>(table: String, key: String, _ body: (RowLock) async throws -> Result) async throws -> Result {
        let configuration = try PostgresTestServer.connection().connectionConfiguration(connectTimeout: .seconds(10))
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: Logger(label: "stash.tests.row-lock"))
        let lock = RowLock(connection: connection)
        do {
            try await lock.run("BEGIN")
            let locked = try await lock.rowCount(
                "SELECT 1 FROM \(unescaped: "\"\(table)\"") WHERE namespace = '' AND key = \(ByteBuffer(string: key)) FOR UPDATE"
            )
            guard locked == 1 else { throw PostgresCluster.ClusterFailure(description: "no row \(key) to lock in \(table)") }
            let result = try await body(lock)
            try await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// Runs a statement on the lock's connection and counts the rows it returns.
    func rowCount(_ query: PostgresQuery) async throws -> Int {
        var count = 0
        for try await _ in try await self.run(query) { count += 1 }
        return count
    }

    /// Runs a statement on the lock's connection.
    @discardableResult
    func run(_ query: PostgresQuery) async throws -> PostgresRowSequence {
        try await self.connection.query(query, logger: self.logger)
    }

    /// How many other sessions wait for a lock this one holds.
    func waiters() async throws -> Int {
        let query: PostgresQuery = "SELECT count(*)::int4 FROM pg_stat_activity WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))"
        for try await count in try await self.run(query).decode(Int32.self) { return Int(count) }
        return 0
    }

    /// Returns once a statement of another session waits for the lock (within 20 s).
    func waitForAWaiter() async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while try await self.waiters() == 0 {
            guard ContinuousClock.now < deadline else {
                throw PostgresCluster.ClusterFailure(description: "no statement came to wait for the lock")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Ends the transaction, releasing the lock.
    func release() async throws {
        try await self.run("COMMIT")
    }
}
