import HTTPTypes
import NIOCore
import Stash
import StashMiddleware
import StashTestSupport
import Testing

@testable import StashPostgres

/// Sessions on PostgreSQL under the load of a browser firing parallel requests: one session, many requests at once.
@Suite struct PostgresSessionTests {
    @Test func sixtyFourConcurrentRequestsOfOneSessionLoseNoChange() async throws {
        try await withPostgresStore(.testing(table: PostgresTestServer.uniqueName("sessions"))) { store -> Void in
            let middleware = SessionMiddleware(store: store)
            let id = try await SessionTraffic.start(middleware)
            try await SessionTraffic.setKeysConcurrently(middleware, id: id)
            let stored = try await store.record(id, renewingFor: nil)
            let fields = try #require(stored)
            let missing = (0..<64).filter { fields["key\($0)"] != ByteBuffer(string: "\($0)") }
            #expect(missing.isEmpty, "lost keys \(missing)")
            #expect(fields["start"] == ByteBuffer(string: "0"))
        }
    }
}
