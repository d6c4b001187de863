import HTTPTypes
import NIOCore
import StashMiddleware
import Synchronization

/// What the demo's pages say, whichever framework serves them: the bodies, and what the session routes do with the
/// request's session. Each framework's routes only carry these to and from its own request and response types.
final class DemoPages: Sendable {
    /// `/hello`'s body: 1 KiB, the same on every request.
    static let helloBody: ByteBuffer = {
        let line = "Hello from stash-demo. This body is a fixed kibibyte, served with no middleware.\n"
        var text = String(repeating: line, count: 1024 / line.utf8.count + 1)
        text = String(text.utf8.prefix(1023))! + "\n"
        return ByteBuffer(string: text)
    }()

    /// Every route, for `--help` and the README: method, path and what it shows.
    static let routes = """
        GET /health (ok), GET /hello (a fixed 1 KiB body, no middleware: the baseline), \
        GET /cached (a 1 KiB body through the response cache; HEAD too), GET /session (a per-session visit counter), \
        POST /login?user=NAME (stores the user in the session and gives it a new id), POST /logout (destroys the \
        session), GET /whoami (the session's user, or 401; behind the cache too, which never stores it), \
        GET /limited (rate-limited)
        """

    /// How many times `/cached`'s handler ran: a hit does not run it.
    private let cachedRuns = Atomic<Int>(0)

    /// `/cached`'s body for the next run of its handler: a kibibyte, like `/hello`'s, that says how many times the
    /// handler has run.
    func nextCachedBody() -> ByteBuffer {
        let run = self.cachedRuns.add(1, ordering: .relaxed).newValue
        let head = "Cached by stash-demo; the handler has run \(run) time\(run == 1 ? "" : "s").\n"
        return ByteBuffer(string: head + String(repeating: ".", count: max(0, 1023 - head.utf8.count)) + "\n")
    }

    /// `GET /session`: counts the visit.
    static func visit(_ session: Session?) throws -> String {
        let session = try Self.required(session)
        let visits = try (session.value(forKey: "visits", as: Int.self) ?? 0) + 1
        try session.setValue(visits, forKey: "visits")
        return "visits: \(visits)\n"
    }

    /// `POST /login?user=NAME`: stores the user and gives the session a new id.
    static func logIn(_ session: Session?, user: String?) throws -> String {
        guard let user, !user.isEmpty, user.utf8.count <= 256 else {
            throw DemoPageError(.badRequest, "POST /login?user=NAME, a name of 1 to 256 bytes")
        }
        let session = try Self.required(session)
        try session.setValue(user, forKey: "user")
        // A new id at every privilege change: an id planted before the login is worth nothing after it.
        session.regenerateID()
        return "logged in as \(user)\n"
    }

    /// `POST /logout`: destroys the session.
    static func logOut(_ session: Session?) throws -> String {
        try Self.required(session).destroy()
        return "logged out\n"
    }

    /// `GET /whoami`: the session's user, or 401.
    static func whoAmI(_ session: Session?) throws -> String {
        guard let user = try Self.required(session).value(forKey: "user", as: String.self) else {
            throw DemoPageError(.unauthorized, "not logged in")
        }
        return "\(user)\n"
    }

    /// The session the session middleware put on the request.
    private static func required(_ session: Session?) throws -> Session {
        guard let session else { throw DemoPageError(.internalServerError, "no session middleware on this route") }
        return session
    }
}

/// A page's refusal: the status and the message each framework's error response carries.
struct DemoPageError: Error {
    let status: HTTPResponse.Status
    let message: String

    init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }
}
