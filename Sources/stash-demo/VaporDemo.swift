import HTTPTypes
import Logging
import NIOCore
import ServiceLifecycle
import StashMiddleware
import StashVapor
import UnixSignals
import Vapor

/// The demo on Vapor: the same routes and behaviour as on Hummingbird, each behind its middleware through
/// `StashVaporMiddleware`, the store registry and root store run by a `StashLifecycleHandler`.
struct VaporDemo {
    let parts: DemoApplication.Parts
    let configuration: DemoApplication.Configuration
    let logger: Logger

    /// Runs the server until SIGINT or SIGTERM, then stops it gracefully: the server, then the stores.
    func run() async throws {
        // Vapor's own command line is not used: the demo's options are parsed already.
        let app = try await Application.make(Environment(name: "production", arguments: ["stash-demo"]))
        app.logger = self.logger
        app.http.server.configuration.serverName = "stash-demo"
        // Vapor's error middleware without its per-request route logging.
        app.middleware = Middlewares()
        app.middleware.use(ErrorMiddleware.default(environment: app.environment))
        app.lifecycle.use(StashLifecycleHandler(services: self.parts.services))
        self.addRoutes(to: app)
        do {
            try await app.asyncBoot()
            try await app.server.start(address: .hostname(self.configuration.host, port: self.configuration.port))
            let port = app.http.server.shared.localAddress?.port ?? self.configuration.port
            DemoApplication.announce(port: port, configuration: self.configuration, logger: self.logger)
            for await _ in await UnixSignalsSequence(trapping: .sigterm, .sigint) { break }
            self.logger.info("stash-demo stopping")
            await app.server.shutdown()
        } catch {
            try? await app.asyncShutdown()
            throw error
        }
        try await app.asyncShutdown()
    }

    func addRoutes(to app: Application) {
        let pages = self.parts.pages
        let middleware = self.parts.middleware
        let cache = StashVaporMiddleware(middleware.cache)
        app.get("health") { _ in Self.text("ok") }
        app.get("hello") { _ in Self.text(DemoPages.helloBody) }
        app.grouped(StashVaporMiddleware(middleware.rateLimit)).get("limited") { _ in Self.text("limited: admitted\n") }
        // Vapor answers HEAD with the GET route, sending no body: the cache answers it from the stored GET.
        app.grouped(cache).get("cached") { _ in Self.text(pages.nextCachedBody()) }
        let sessions = app.grouped(StashVaporMiddleware(middleware.sessions))
        sessions.get("session") { req in try Self.page { try DemoPages.visit(req.stashSession) } }
        sessions.post("login") { req in try Self.page { try DemoPages.logIn(req.stashSession, user: req.query[String.self, at: "user"]) } }
        sessions.post("logout") { req in try Self.page { try DemoPages.logOut(req.stashSession) } }
        // Behind the response cache too: the cache never stores a page whose handler read the session.
        sessions.grouped(cache).get("whoami") { req in try Self.page { try DemoPages.whoAmI(req.stashSession) } }
    }

    /// A page's text, or its refusal as Vapor's `Abort`.
    private static func page(_ body: () throws -> String) throws -> Response {
        do {
            return Self.text(try body())
        } catch let error as DemoPageError {
            throw Abort(HTTPResponseStatus(statusCode: error.status.code), reason: error.message)
        }
    }

    private static func text(_ body: String) -> Response {
        Self.text(ByteBuffer(string: body))
    }

    private static func text(_ body: ByteBuffer) -> Response {
        Response(status: .ok, headers: ["Content-Type": "text/plain; charset=utf-8"], body: .init(buffer: body))
    }
}
