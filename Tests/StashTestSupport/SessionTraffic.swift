package import HTTPTypes
import NIOCore
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

    /// Logs in as `user` (``StashMiddleware/Session/authenticate(as:)``) from a browser with no session, and returns
    /// the session's id.
    package static func logIn(_ middleware: SessionMiddleware, as user: String) async throws -> String {
        try #require(try await Self.logInUnlessEnded(middleware, as: user))
    }

    /// Logs in as ``logIn(_:as:)`` does, but returns `nil` when the response sets no cookie: the user's sessions were
    /// ended while the login stored its own, which ended it too.
    package static func logInUnlessEnded(_ middleware: SessionMiddleware, as user: String) async throws -> String? {
        let request = StashRequest(head: HTTPRequest(method: .post, scheme: "http", authority: "localhost", path: "/login"))
        let response = try await middleware.respond(to: request) { request in
            try #require(request.session).authenticate(as: user)
            return StashResponse(head: HTTPResponse(status: .ok))
        }
        return response.head.headerFields[.setCookie].map { cookie in String(cookie.prefix { $0 != ";" }.dropFirst("session=".count)) }
    }

    /// The user session `id` is logged in as, as its next request sees it; `nil` when it is not (or is gone).
    package static func user(_ middleware: SessionMiddleware, id: String) async throws -> String? {
        var fields = HTTPFields()
        fields[.cookie] = "session=\(id)"
        let request = StashRequest(head: HTTPRequest(method: .get, scheme: "http", authority: "localhost", path: "/", headerFields: fields))
        let response = try await middleware.respond(to: request) { request in
            StashResponse(status: .ok, body: try #require(request.session).userID ?? "")
        }
        let user = String(buffer: response.body)
        return user.isEmpty ? nil : user
    }
}
