// Sessions without a framework: a browser's cookie followed through a visit, a forged id, a login, "log out
// everywhere" and a logout, printing the cookies the middleware sends.

// snippet.hide
import HTTPTypes
import NIOCore
import Stash
import StashMiddleware

/// A request for a path, carrying a session cookie when there is one.
func request(_ path: String, method: HTTPRequest.Method = .get, cookie: String? = nil) -> StashRequest {
    var fields: HTTPFields = [:]
    if let cookie { fields[.cookie] = "session=\(cookie)" }
    return StashRequest(head: HTTPRequest(method: method, scheme: "https", authority: "app.example", path: path, headerFields: fields))
}

/// Sends a request, prints its `Set-Cookie`, and returns the session id the cookie carries (`""` when it clears it).
@discardableResult
func send(_ request: StashRequest, to handler: StashHandler) async throws -> String? {
    let response = try await handler(request)
    let setCookie = response.head.headerFields[.setCookie]
    print("\(request.head.method) \(request.head.path ?? "") -> \(String(buffer: response.body)); Set-Cookie: \(setCookie ?? "none")")
    guard let setCookie, let value = setCookie.split(separator: ";").first?.split(separator: "=", maxSplits: 1).last else { return nil }
    return setCookie.hasPrefix("session=;") ? "" : String(value)
}

// snippet.show
// snippet.setup
let store = try MemoryStore(configuration: .init(maximumBytes: 64 * 1024 * 1024))
let sessions = SessionMiddleware(
    store: store,
    configuration: try .init(secure: true, expiry: .sliding(.seconds(30 * 60), endingAfter: .seconds(12 * 3600)))
)
let handler = sessions.wrapping { request in
    guard let session = request.session else { return StashResponse(status: .internalServerError, body: "no session") }
    switch request.pathWithoutQuery {
    case "/visit":
        let visits = try session.value(forKey: "visits", as: Int.self) ?? 0
        try session.setValue(visits + 1, forKey: "visits")
        return StashResponse(status: .ok, body: "visit \(visits + 1)")
    case "/login":
        try session.authenticate(as: "ada")  // a new id, and the user's index of sessions
        return StashResponse(status: .ok, body: "logged in")
    case "/logout":
        session.destroy()  // deleted from the store; the cookie is cleared with Max-Age=0
        return StashResponse(status: .ok, body: "logged out")
    default:
        return StashResponse(status: .ok, body: "a page that never touches the session")
    }
}
// snippet.end

// snippet.lazy
// No cookie, no store write, for a request that leaves the session alone.
try await send(request("/"), to: handler)  // Set-Cookie: none
// The first value stored creates the session: a 256-bit id, HttpOnly, SameSite=Lax, Secure, Max-Age of the lifetime.
let first = try await send(request("/visit"), to: handler)!
try await send(request("/visit", cookie: first), to: handler)  // visit 2: a change renews a sliding session, Max-Age again
// snippet.end

// snippet.fixation
// An id the store does not know is never adopted: a planted or expired id gets a fresh one.
let planted = String(repeating: "A", count: 43)
let fresh = try await send(request("/visit", cookie: planted), to: handler)!
print("planted id adopted:", fresh == planted)  // false
// snippet.end

// snippet.login
// At login the session moves to a new id: whoever knew the old one (planted before, seen in a log) holds nothing.
let afterLogin = try await send(request("/login", method: .post, cookie: first), to: handler)!
print("old id still works:", afterLogin == first)  // false
try await send(request("/visit", cookie: afterLogin), to: handler)  // visit 3: the values moved with it
// snippet.end

// snippet.storeKeys
// The store never holds an id a cookie could carry: sessions are stored under the SHA-256 of their id.
for try await key in store.keys() {
    print("stored under:", key)  // 64 hexadecimal characters, and the user's index, user:<SHA-256 of the user id>
}
// snippet.end

// snippet.everywhere
// "Log out everywhere", after a password change: every session of the user ends, on every instance sharing the store.
let otherDevice = try await send(request("/login", method: .post, cookie: fresh), to: handler)!
let ended = try await sessions.endSessions(ofUser: "ada", except: afterLogin)
print("ended \(ended) other session(s)")  // 1
try await send(request("/visit", cookie: otherDevice), to: handler)  // visit 1: a new, empty session
// snippet.end

// snippet.logout
try await send(request("/logout", method: .post, cookie: afterLogin), to: handler)  // session=; Max-Age=0
// snippet.end
