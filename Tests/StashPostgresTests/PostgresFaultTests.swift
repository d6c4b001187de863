import NIOCore
import Stash
import StashPostgres
import StashTestSupport
import StashTesting
import Testing

/// Failures against a PostgreSQL of the test's own: a restart, wrong credentials, nothing listening.
@Suite struct PostgresFaultTests {
    @Test func restartingTheServerGivesTypedErrorsThenTheSameStoreWorks() async throws {
        try await ServerFaultGate.shared.run { try await self.restartingTheServer() }
    }

    private func restartingTheServer() async throws {
        let cluster = try await PostgresCluster.start()
        do {
            var connection = try PostgresStore.Connection(url: cluster.url())
            connection.maximumConnections = 4
            connection.connectTimeout = .seconds(1)
            let store = try PostgresStore(connection: connection, configuration: .init(timeout: .seconds(5)))
            try await withRunningStore(store) { store in
                try await store.set("before", value: ByteBuffer(string: "b"))
                #expect(try await store.increment("count") == 1)

                try await cluster.stopServer()
                for operation in 0..<3 {
                    let started = ContinuousClock.now
                    await expectStoreError([.unavailable, .timedOut], "operation \(operation) while the server is down") {
                        try await store.get("before")
                    }
                    await expectStoreError([.unavailable, .timedOut], "a write while the server is down") {
                        try await store.set("during", value: ByteBuffer(string: "d"))
                    }
                    #expect(ContinuousClock.now - started < .seconds(30), "a failing operation gives up within its timeout, it never hangs")
                }

                #expect(try await cluster.startServer(), "the server starts again")
                // The pool reconnects on its own, with a back-off: the same store works again within seconds.
                let deadline = ContinuousClock.now + .seconds(30)
                var recovered = false
                while !recovered, ContinuousClock.now < deadline {
                    do {
                        recovered = try await store.get("before") == ByteBuffer(string: "b")
                    } catch let error as StoreError {
                        #expect([StoreError.Code.unavailable, .timedOut].contains(error.code), "only typed errors while reconnecting: \(error)")
                        try await Task.sleep(for: .milliseconds(100))
                    }
                }
                #expect(recovered, "the store works again after the restart")
                #expect(try await store.increment("count") == 2, "data written before the restart is still there")
                try await store.set("after", value: ByteBuffer(string: "a"))
                #expect(try await store.get("after") == ByteBuffer(string: "a"))
            }
        } catch {
            await cluster.remove()
            throw error
        }
        await cluster.remove()
    }

    @Test func wrongCredentialsAreAnAuthenticationError() async throws {
        let cluster = try await PostgresCluster.start()
        do {
            let store = try PostgresStore(url: cluster.url(password: "not-the-password"), configuration: .init(timeout: .milliseconds(500)))
            try await withRunningStore(store) { store in
                await expectStoreError([.authenticationFailed], "a wrong password") {
                    try await store.get("k")
                }
            }
            let good = try PostgresStore(url: cluster.url(), configuration: .init(timeout: .seconds(5)))
            try await withRunningStore(good) { store in
                try await store.set("k", value: ByteBuffer(string: "v"))
                #expect(try await store.get("k") == ByteBuffer(string: "v"), "the right password works")
            }
        } catch {
            await cluster.remove()
            throw error
        }
        await cluster.remove()
    }

    @Test func nothingListeningIsUnavailableWithinTheTimeout() async throws {
        // A port from the test cluster's range that nothing listens on: a stopped cluster's.
        let cluster = try await PostgresCluster.start()
        await cluster.remove()
        let store = try PostgresStore(url: "postgres://stash@127.0.0.1:\(cluster.port)/stash", configuration: .init(timeout: .milliseconds(500)))
        try await withRunningStore(store) { store in
            let started = ContinuousClock.now
            await expectStoreError([.unavailable], "connecting to a port nothing listens on") {
                try await store.get("k")
            }
            // Not a speed bound (the full suite loads both cores): far below postgres-nio's own 60 s give-up, so the
            // store's timeout, not the pool's, ended the wait.
            #expect(ContinuousClock.now - started < .seconds(20))
        }
    }

    @Test func aStoreThatIsNotRunningTimesOut() async throws {
        let store = try PostgresStore(connection: PostgresTestServer.connection(), configuration: .init(timeout: .milliseconds(300)))
        let started = ContinuousClock.now
        await expectStoreError([.timedOut], "an operation on a store whose pool does not run") {
            try await store.get("k")
        }
        // Not a speed bound (the full suite loads both cores): far below postgres-nio's own 60 s give-up, so the
        // store's timeout, not the pool's, ended the wait.
        #expect(ContinuousClock.now - started < .seconds(20))
    }

    @Test func aCancelledCallerGetsCancellationError() async throws {
        try await withPostgresStore { root in
            let store = try root.withNamespace(PostgresTestServer.uniqueName("cancel"))
            try await store.set("k", value: ByteBuffer(string: "v"))
            let task = Task {
                _ = try await store.update("k") { _ in .unchanged }
                try await Task.sleep(for: .seconds(30))
            }
            task.cancel()
            await #expect(throws: CancellationError.self) { try await task.value }
            #expect(try await store.get("k") == ByteBuffer(string: "v"), "the store still works after a cancelled call")
        }
    }
}
