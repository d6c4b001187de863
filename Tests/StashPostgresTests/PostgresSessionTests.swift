import HTTPTypes
import NIOCore
import Stash
import StashMiddleware
import Testing

@testable import StashPostgres

/// Sessions on PostgreSQL under the load of a browser firing parallel requests: one session, many requests at once.
@Suite struct PostgresSessionTests {
    /// A request carrying the session cookie, to a handler that sets one key.
    static func send(_ middleware: SessionMiddleware, id: String?, key: String, value: Int) async throws -> StashResponse {
        var fields = HTTPFields()
        if let id { fields[.cookie] = "session=\(id)" }
        let request = StashRequest(head: HTTPRequest(method: .get, scheme: "http", authority: "localhost", path: "/", headerFields: fields))
        return try await middleware.respond(to: request) { request in
            try #require(request.session).setValue(value, forKey: key)
            return StashResponse(head: HTTPResponse(status: .ok))
        }
    }

    @Test func sixtyFourConcurrentRequestsOfOneSessionLoseNoChange() async throws {
        try await withPostgresStore(.testing(table: PostgresTestServer.uniqueName("sessions"))) { store -> Void in
            let middleware = SessionMiddleware(store: store)
            let created = try await Self.send(middleware, id: nil, key: "start", value: 0)
            let cookie = try #require(created.head.headerFields[.setCookie])
            let id = String(cookie.prefix { $0 != ";" }.dropFirst("session=".count))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<64 {
                    group.addTask {
                        let response = try await Self.send(middleware, id: id, key: "key\(index)", value: index)
                        #expect(response.head.headerFields[.setCookie] == nil)
                    }
                }
                try await group.waitForAll()
            }
            let stored = try await store.record(id, renewingFor: nil)
            let fields = try #require(stored)
            let missing = (0..<64).filter { fields["key\($0)"] != ByteBuffer(string: "\($0)") }
            #expect(missing.isEmpty, "lost keys \(missing)")
            #expect(fields["start"] == ByteBuffer(string: "0"))
        }
    }
}
