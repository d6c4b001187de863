import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import StashHummingbird
import StashMiddleware

/// The demo on Hummingbird: the routes, each behind its middleware through `StashRouterMiddleware`, and the
/// application whose services are the store registry and the root store.
struct HummingbirdDemo {
    let parts: DemoApplication.Parts
    let configuration: DemoApplication.Configuration
    let logger: Logger

    /// Runs the server until SIGINT or SIGTERM, then stops it gracefully.
    func run() async throws {
        let router = Router(context: DemoRequestContext.self)
        self.addRoutes(to: router)
        let configuration = self.configuration
        let logger = self.logger
        let application = Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "stash-demo"),
            services: self.parts.services,
            onServerRunning: { channel in
                DemoApplication.announce(port: channel.localAddress?.port ?? configuration.port, configuration: configuration, logger: logger)
            },
            logger: logger
        )
        try await application.runService()
    }

    func addRoutes(to router: Router<DemoRequestContext>) {
        let pages = self.parts.pages
        let middleware = self.parts.middleware
        let cache = StashRouterMiddleware<DemoRequestContext>(middleware.cache)
        router.get("/health") { _, _ in Self.text("ok") }
        router.get("/hello") { _, _ in Self.text(DemoPages.helloBody) }
        router.group("/limited")
            .add(middleware: StashRouterMiddleware(middleware.rateLimit))
            .get { _, _ in Self.text("limited: admitted\n") }
        let cached = router.group("/cached").add(middleware: cache)
        cached.get { _, _ in Self.text(pages.nextCachedBody()) }
        // HEAD is answered from the stored GET; on a miss the GET's handler runs and the adapter sends no body.
        cached.head { _, _ in Self.text(pages.nextCachedBody()) }
        let sessions = router.group().add(middleware: StashRouterMiddleware(sessions: middleware.sessions))
        sessions.get("/session") { _, context in try Self.page { try DemoPages.visit(context.session) } }
        sessions.post("/login") { request, context in
            try Self.page { try DemoPages.logIn(context.session, user: request.uri.queryParameters["user"].map(String.init)) }
        }
        sessions.post("/logout") { _, context in try Self.page { try DemoPages.logOut(context.session) } }
        // Behind the response cache too: the cache never stores a page whose handler read the session.
        sessions.group("/whoami").add(middleware: cache).get { _, context in try Self.page { try DemoPages.whoAmI(context.session) } }
    }

    /// A page's text, or its refusal as Hummingbird's `HTTPError`.
    private static func page(_ body: () throws -> String) throws -> Response {
        do {
            return Self.text(try body())
        } catch let error as DemoPageError {
            throw HTTPError(error.status, message: error.message)
        }
    }

    private static func text(_ body: String) -> Response {
        Self.text(ByteBuffer(string: body))
    }

    private static func text(_ body: ByteBuffer) -> Response {
        Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: body))
    }
}
