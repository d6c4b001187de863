// A Hummingbird application with all three of Stash's middleware: a rate limit on every route, sessions, and a
// response cache in front of one route group. It serves on http://127.0.0.1:8080 until interrupted.

// snippet.hide
import Hummingbird
import NIOCore
import Stash
import StashHummingbird
import StashMiddleware

// snippet.show
// snippet.context
/// The request context: Hummingbird's core context, the connection's peer address (the rate limiter's client
/// identity) and the session, which the session middleware puts here for the handlers.
struct AppRequestContext: RemoteAddressRequestContext, StashSessionRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?
    var session: Session?

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
        self.session = nil
    }
}
// snippet.end

// snippet.stores
// One root store; every feature gets a namespace of it by name ("rate_limit", "sessions", "response_cache").
let root = try MemoryStore(configuration: .init(maximumBytes: 64 * 1024 * 1024))
let registry = StoreRegistry(defaultFactory: root.withNamespace)
// snippet.end

// snippet.middleware
let limiter = try RateLimiter(
    registry: registry,
    configuration: .init(
        policies: [RateLimitPolicy(rule: RateLimitRule(limit: 100, per: .seconds(60), algorithm: .slidingWindow))],
        identity: .clientAddress(),
        excludedPaths: ["/health"]
    )
)
let sessions = try SessionMiddleware(registry: registry, configuration: .init(expiry: .sliding(.seconds(3600))))
let cache = try ResponseCache(registry: registry, configuration: .init(lifetime: .seconds(30)))
// snippet.end

// snippet.routes
let router = Router(context: AppRequestContext.self)
router.add(middleware: StashRouterMiddleware(limiter))
router.get("/health") { _, _ in "ok" }

// Cached for 30 seconds: the handler runs once, then the stored response is replayed.
router.group("/catalog")
    .add(middleware: StashRouterMiddleware(cache))
    .get { _, _ in "catalog, built at \(WallClock().now.millisecondsSinceEpoch)\n" }

// The session's routes.
let accounts = router.group().add(middleware: StashRouterMiddleware(sessions: sessions))
accounts.post("/login") { request, context -> String in
    guard let user = request.uri.queryParameters["user"].map(String.init), let session = context.session else {
        throw HTTPError(.badRequest)
    }
    try session.setValue(user, forKey: "user")
    session.regenerateID()  // a new id at every login: no session fixation
    return "hello, \(user)\n"
}
accounts.get("/me") { _, context -> String in
    let user = try context.session?.value(forKey: "user", as: String.self)
    return "\(user ?? "anonymous")\n"
}
accounts.post("/logout") { _, context -> String in
    context.session?.destroy()
    return "bye\n"
}
// snippet.end

// snippet.run
// The registry is a service: it runs its stores' background work (here, the memory store's sweep).
let app = Application(
    router: router,
    configuration: .init(address: .hostname("127.0.0.1", port: 8080)),
    services: [registry]
)
try await app.runService()
// snippet.end
