import Logging
import PostgresNIO
import Stash
import Testing

@testable import StashPostgres

/// A statement on a connection that closed before the statement reached it: the pool leases a connection the
/// server has just closed when the operation comes before the pool hears of the close.
@Suite struct PostgresClosedConnectionTests {
    @Test(.timeLimit(.minutes(1)))
    func aStatementOnAClosedConnectionFailsAsUnavailable() async throws {
        let store = try PostgresStore(connection: PostgresTestServer.connection(), configuration: .testing())
        let configuration = try PostgresTestServer.connection().connectionConfiguration(connectTimeout: .seconds(10))
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: Logger(label: "test"))
        try await connection.close()
        // The channel has dropped its handlers once its close future completes: a statement written now reaches none.
        try await connection.closeFuture.get()

        let thrown = try #require(
            await #expect(throws: (any Error).self, "a statement on a closed connection fails; it never waits forever") {
                try await store.storage.execute("SELECT 1", on: connection)
            }
        )
        let error = await store.storage.storeError(from: thrown)
        #expect((error as? StoreError)?.code == .unavailable, "\(error)")
    }
}
