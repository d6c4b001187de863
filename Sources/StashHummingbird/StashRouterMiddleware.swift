public import Hummingbird
public import StashMiddleware

/// Runs a framework-free ``/StashMiddleware/HTTPMiddleware`` (a `RateLimiter`, a response cache, sessions) as a
/// Hummingbird `RouterMiddleware`.
///
/// The middleware sees the request's head and the client's address; the request body is never collected for it and
/// reaches the handler untouched, so a large upload streams as it would without the middleware.
///
/// The handler's response reaches the middleware in one of two ways, by the middleware's
/// ``/StashMiddleware/HTTPMiddleware/collectedBodyLimit`` (or an explicit ``collectingLimit``):
/// - Without a limit (a rate limiter, sessions: they only read and add header fields), the body is not read: the
///   middleware gets the head and an empty body marked ``/StashMiddleware/StashResponse/isBodyStreamed``, and the
///   client gets the handler's own response, body untouched, with the head as the middleware returned it.
/// - With a limit (a response cache asks for its largest cacheable body), a body of known length up to the limit is
///   collected and handed over whole. A longer body, or one of unknown length, is not collected: the middleware
///   gets it marked as streamed, and the client gets the handler's body unchanged, streamed.
///
/// ```swift
/// let limiter = try RateLimiter(registry: registry, configuration: configuration)
/// router.add(middleware: StashRouterMiddleware(limiter))
/// ```
///
/// With a context that is a ``StashSessionRequestContext``, the middleware's request carries the session a session
/// middleware earlier in the chain put on the context: a response cache behind the session middleware then never
/// stores a page whose handler read the session.
///
/// Errors thrown by the handler (Hummingbird's `HTTPError` among them) reach the application unchanged, unless the
/// middleware itself handles them.
public struct StashRouterMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Hummingbird's request.
    public typealias Input = Request
    /// Hummingbird's response.
    public typealias Output = Response

    /// The middleware run for each request.
    public let middleware: any HTTPMiddleware
    /// The largest response body collected for the middleware, in bytes; `nil` to never collect one.
    public let collectingLimit: Int?
    let peerAddress: @Sendable (Context) -> String?
    /// The context the handler gets: the router's, with what the middleware put on the request (the session).
    let handlerContext: @Sendable (StashRequest, Context) -> Context
    /// Whether the context carries a session (it is a ``StashSessionRequestContext``): a session middleware earlier in
    /// the chain put it there, and the middleware gets it on its request, so that a response cache knows when the
    /// handler read it.
    let contextCarriesSession: Bool

    /// Creates the adapter, collecting the response bodies the middleware asks for
    /// (``/StashMiddleware/HTTPMiddleware/collectedBodyLimit``: none for a rate limiter, up to its largest cacheable
    /// body for a response cache).
    /// - Parameters:
    ///   - middleware: The middleware to run.
    ///   - peerAddress: The client's address for a context, as an IPv4 or IPv6 address without port; by default
    ///     the `remoteAddress` of a context that is a `RemoteAddressRequestContext`, else `nil`. Called only for a
    ///     middleware whose ``/StashMiddleware/HTTPMiddleware/readsPeerAddress`` is `true`.
    public init(_ middleware: any HTTPMiddleware, peerAddress: @escaping @Sendable (Context) -> String? = Self.remotePeerAddress) {
        self.init(middleware, collectingLimit: middleware.collectedBodyLimit, peerAddress: peerAddress, handlerContext: { $1 })
    }

    /// Creates the adapter with a limit of its own on the response bodies it collects for the middleware.
    /// - Parameters:
    ///   - middleware: The middleware to run.
    ///   - collectingLimit: The largest response body, in bytes, to collect and hand to the middleware; `nil` hands
    ///     over no body at all.
    ///   - peerAddress: The client's address for a context (see ``init(_:peerAddress:)``).
    public init(
        _ middleware: any HTTPMiddleware,
        collectingLimit: Int?,
        peerAddress: @escaping @Sendable (Context) -> String? = Self.remotePeerAddress
    ) {
        self.init(middleware, collectingLimit: collectingLimit, peerAddress: peerAddress, handlerContext: { $1 })
    }

    init(
        _ middleware: any HTTPMiddleware,
        collectingLimit: Int?,
        peerAddress: @escaping @Sendable (Context) -> String?,
        handlerContext: @escaping @Sendable (StashRequest, Context) -> Context
    ) {
        precondition(collectingLimit.map { $0 >= 0 } ?? true, "collectingLimit must not be negative")
        self.middleware = middleware
        self.collectingLimit = collectingLimit
        self.peerAddress = peerAddress
        self.handlerContext = handlerContext
        self.contextCarriesSession = Context.self is any StashSessionRequestContext.Type
    }

    /// The address of the context's connected peer, without port, when the context is a
    /// `RemoteAddressRequestContext`; otherwise `nil`.
    @Sendable public static func remotePeerAddress(_ context: Context) -> String? {
        (context as? any RemoteAddressRequestContext)?.remoteAddress?.ipAddress
    }

    /// Runs the middleware, which calls `next` (the rest of the router) when the request goes on to the handler.
    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var stashRequest = StashRequest(head: request.head, peerAddress: self.middleware.readsPeerAddress ? self.peerAddress(context) : nil)
        if self.contextCarriesSession {
            stashRequest.session = (context as? any StashSessionRequestContext)?.session
        }
        let handlerResponse = HandlerResponse()
        let limit = self.collectingLimit
        let response = try await self.middleware.respond(to: stashRequest) { stashRequest in
            let forwarded = stashRequest.head == request.head ? request : Request(head: stashRequest.head, body: request.body)
            let response = try await next(forwarded, self.handlerContext(stashRequest, context))
            return try await handlerResponse.stashResponse(from: response, collectingUpTo: limit)
        }
        return try handlerResponse.response(from: response, for: request)
    }
}
