package import HTTPTypes
package import StashMiddleware
import Testing

/// Requests of one session as a browser sends them, for the stores' session tests.
package enum SessionTraffic {
    /// A request carrying the session cookie (none when `id` is `nil`), to a handler that sets one key.
    package static func send(_ middleware: SessionMiddleware, id: String?, key: String, value: Int) async throws -> StashResponse {
        var fields = HTTPFields()
        if let id { fields[.cookie] = "session=\(id)" }
        let request = StashRequest(head: HTTPRequest(method: .get, scheme: "http", authority: "localhost", path: "/", headerFields: fields))
        return try await middleware.respond(to: request) { request in
            try #require(request.session).setValue(value, forKey: key)
            return StashResponse(head: HTTPResponse(status: .ok))
        }
    }

    /// Starts a session holding `start` = 0, and returns its id.
    package static func start(_ middleware: SessionMiddleware) async throws -> String {
        let created = try await Self.send(middleware, id: nil, key: "start", value: 0)
        let cookie = try #require(created.head.headerFields[.setCookie])
        return String(cookie.prefix { $0 != ";" }.dropFirst("session=".count))
    }

    /// Sends `count` requests of session `id` at once, request `i` setting `key<i>` to `i`; none may need a new cookie.
    package static func setKeysConcurrently(_ middleware: SessionMiddleware, id: String, count: Int = 64) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<count {
                group.addTask {
                    let response = try await Self.send(middleware, id: id, key: "key\(index)", value: index)
                    #expect(response.head.headerFields[.setCookie] == nil)
                }
            }
            try await group.waitForAll()
        }
    }
}
