import Hummingbird
import NIOCore
import StashMiddleware
import Synchronization

/// The demo's routes: each feature's route behind its middleware, beside the bare baseline.
final class DemoRoutes: Sendable {
    /// `/hello`'s body: 1 KiB, the same on every request.
    static let helloBody: ByteBuffer = {
        let line = "Hello from stash-demo. This body is a fixed kibibyte, served with no middleware.\n"
        var text = String(repeating: line, count: 1024 / line.utf8.count + 1)
        text = String(text.utf8.prefix(1023))! + "\n"
        return ByteBuffer(string: text)
    }()

    let middleware: DemoMiddleware
    /// How many times `/cached`'s handler ran: a hit does not run it.
    let cachedRuns = Atomic<Int>(0)

    init(middleware: DemoMiddleware) {
        self.middleware = middleware
    }

    func add(to router: Router<DemoRequestContext>) {
        router.get("/health") { _, _ in Self.text("ok") }
        router.get("/hello") { _, _ in Self.text(Self.helloBody) }
        router.group("/limited")
            .add(middleware: self.middleware.rateLimit)
            .get { _, _ in Self.text("limited: admitted\n") }
        router.group("/cached")
            .add(middleware: self.middleware.cache)
            .get { _, _ in
                let run = self.cachedRuns.add(1, ordering: .relaxed).newValue
                return Self.text(Self.cachedBody(run: run))
            }
        let sessions = router.group().add(middleware: self.middleware.sessions)
        sessions.get("/session") { _, context in
            let session = try Self.session(of: context)
            let visits = try (session.value(forKey: "visits", as: Int.self) ?? 0) + 1
            try session.setValue(visits, forKey: "visits")
            return Self.text("visits: \(visits)\n")
        }
        sessions.post("/login") { request, context in
            guard let user = request.uri.queryParameters["user"].map(String.init), !user.isEmpty, user.utf8.count <= 256 else {
                throw HTTPError(.badRequest, message: "POST /login?user=NAME, a name of 1 to 256 bytes")
            }
            let session = try Self.session(of: context)
            try session.setValue(user, forKey: "user")
            // A new id at every privilege change: an id planted before the login is worth nothing after it.
            session.regenerateID()
            return Self.text("logged in as \(user)\n")
        }
        sessions.post("/logout") { _, context in
            try Self.session(of: context).destroy()
            return Self.text("logged out\n")
        }
        // Behind the response cache too: the cache never stores a page whose handler read the session.
        sessions.group("/whoami").add(middleware: self.middleware.cache).get { _, context in
            guard let user = try Self.session(of: context).value(forKey: "user", as: String.self) else {
                throw HTTPError(.unauthorized, message: "not logged in")
            }
            return Self.text("\(user)\n")
        }
    }

    /// `/cached`'s body: a kibibyte, like `/hello`'s, that says how many times the handler has run.
    static func cachedBody(run: Int) -> ByteBuffer {
        let head = "Cached by stash-demo; the handler has run \(run) time\(run == 1 ? "" : "s").\n"
        return ByteBuffer(string: head + String(repeating: ".", count: max(0, 1023 - head.utf8.count)) + "\n")
    }

    static func text(_ body: String) -> Response {
        Self.text(ByteBuffer(string: body))
    }

    static func text(_ body: ByteBuffer) -> Response {
        Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: body))
    }

    /// The session the session middleware put on the context.
    static func session(of context: DemoRequestContext) throws -> Session {
        guard let session = context.session else { throw HTTPError(.internalServerError, message: "no session middleware on this route") }
        return session
    }
}
