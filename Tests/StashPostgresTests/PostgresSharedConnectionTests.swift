import Foundation
import NIOCore
import Stash
import Testing

@testable import StashPostgres

/// The connections a running store shares among single statements, and the prepared statements it runs on them.
@Suite(.timeLimit(.minutes(2)))
struct PostgresSharedConnectionTests {
    @Test func aStatementBlockedPastItsTimeoutFailsInTimeAndTheStoreGoesOn() async throws {
        let table = PostgresTestServer.uniqueName("overrun")
        // The table made beforehand, so that the store's first operation is no migration racing the short timeout.
        _ = try await psql(try PostgresSchema.migrationSQL(table: table))
        var configuration = PostgresStore.Configuration.testing(table: table)
        configuration.createsTable = false
        configuration.timeout = .seconds(2)
        configuration.sharedConnections = 2
        try await withPostgresStore(configuration) { store in
            try await store.set("locked", value: ByteBuffer(string: "v"))
            // Another session holds the row's lock for 6 s, so a write to it waits on the server.
            async let holder = psql(
                "BEGIN; SELECT 1 FROM \"\(table)\" WHERE namespace = '' AND key = convert_to('locked', 'UTF8') FOR UPDATE; "
                    + "SELECT pg_sleep(6); COMMIT;"
            )
            try await Task.sleep(for: .milliseconds(500))
            let started = ContinuousClock.now
            await expectStoreError([.timedOut], "a write waiting on a lock past the store's timeout") {
                try await store.set("locked", value: ByteBuffer(string: "w"))
            }
            let waited = ContinuousClock.now - started
            #expect(waited < .milliseconds(5000), "the store's timeout ended the wait, not the lock's release: \(waited)")
            _ = try await holder

            // The same store, with the connection it closed replaced, serves every operation again.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<32 {
                    group.addTask {
                        try await store.set("key\(task)", value: ByteBuffer(string: "\(task)"))
                        #expect(try await store.get("key\(task)") == ByteBuffer(string: "\(task)"))
                    }
                }
                try await group.waitForAll()
            }
        }
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
