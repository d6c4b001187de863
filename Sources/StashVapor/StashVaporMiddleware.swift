public import StashMiddleware
public import Vapor

/// Runs a framework-free ``/StashMiddleware/HTTPMiddleware`` (a `RateLimiter`, a `ResponseCache`, a
/// `SessionMiddleware`) as a Vapor `AsyncMiddleware`, with the contract `StashRouterMiddleware` has in Hummingbird.
///
/// The middleware sees the request's head and the client's address; the request body is never collected for it and
/// reaches the handler as Vapor streams or collects it for the route.
///
/// The handler's response reaches the middleware in one of two ways, by the middleware's
/// ``/StashMiddleware/HTTPMiddleware/collectedBodyLimit`` (or an explicit ``collectingLimit``):
/// - Without a limit (a rate limiter, sessions: they only read and add header fields), the body is not read: the
///   middleware gets the head and an empty body marked ``/StashMiddleware/StashResponse/isBodyStreamed``, and the
///   client gets the handler's own response, body untouched, with the head as the middleware returned it.
/// - With a limit (a response cache asks for its largest cacheable body), a body held in memory (a buffer, `Data`,
///   a string) of up to the limit is handed over whole. A larger body, or a stream, is not collected: the middleware
///   gets it marked as streamed (a cache does not store it), and the client gets the handler's body unchanged.
///
/// The client's address is the connection's peer (`Request.remoteAddress`), never Vapor's `peerAddress`, which
/// believes `X-Forwarded-For`: proxies are trusted only through the middleware's own configuration
/// (`ClientIdentity.clientAddress(trustedProxies:)`).
///
/// ```swift
/// let sessions = try SessionMiddleware(registry: registry)
/// let cache = try ResponseCache(registry: registry, configuration: .init(lifetime: .seconds(30)))
/// app.middleware.use(StashVaporMiddleware(sessions))
/// app.grouped(StashVaporMiddleware(cache)).get("cached") { _ in "Hello" }
/// app.get("visits") { req in
///     let visits = try req.stashSession?.value(forKey: "visits", as: Int.self) ?? 0
///     try req.stashSession?.setValue(visits + 1, forKey: "visits")
///     return "\(visits + 1)"
/// }
/// ```
///
/// A session middleware earlier in the chain puts the request's ``/StashMiddleware/Session`` on it
/// (``Vapor/Request/stashSession``); a middleware after it gets that session on its request, so a response cache
/// behind the session middleware never stores a page whose handler read the session.
///
/// Errors thrown by the handler (Vapor's `Abort` among them) reach Vapor's error middleware unchanged, unless the
/// middleware itself handles them.
public struct StashVaporMiddleware: AsyncMiddleware {
    /// The middleware run for each request.
    public let middleware: any HTTPMiddleware
    /// The largest response body collected for the middleware, in bytes; `nil` to never collect one.
    public let collectingLimit: Int?

    /// Creates the adapter, collecting the response bodies the middleware asks for
    /// (``/StashMiddleware/HTTPMiddleware/collectedBodyLimit``: none for a rate limiter, up to its largest cacheable
    /// body for a response cache).
    public init(_ middleware: any HTTPMiddleware) {
        self.init(middleware, collectingLimit: middleware.collectedBodyLimit)
    }

    /// Creates the adapter with a limit of its own on the response bodies it collects for the middleware.
    /// - Parameters:
    ///   - middleware: The middleware to run.
    ///   - collectingLimit: The largest response body, in bytes, to collect and hand to the middleware; `nil` hands
    ///     over no body at all.
    public init(_ middleware: any HTTPMiddleware, collectingLimit: Int?) {
        precondition(collectingLimit.map { $0 >= 0 } ?? true, "collectingLimit must not be negative")
        self.middleware = middleware
        self.collectingLimit = collectingLimit
    }

    public func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        let head = VaporConversion.head(of: request)
        var stashRequest = StashRequest(
            head: head,
            peerAddress: self.middleware.readsPeerAddress ? request.remoteAddress?.ipAddress : nil
        )
        stashRequest.session = request.stashSession
        let handlerResponse = VaporHandlerResponse()
        let limit = self.collectingLimit
        let response = try await self.middleware.respond(to: stashRequest) { stashRequest in
            if stashRequest.head != head { VaporConversion.apply(stashRequest.head, to: request) }
            request.stashSession = stashRequest.session
            let response = try await next.respond(to: request)
            return handlerResponse.stashResponse(from: response, collectingUpTo: limit)
        }
        return try handlerResponse.response(from: response, for: request)
    }
}
