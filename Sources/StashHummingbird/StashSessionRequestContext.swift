public import Hummingbird
public import StashMiddleware

/// A request context that carries the request's Stash session to the handlers after a session middleware.
///
/// ```swift
/// struct AppRequestContext: StashSessionRequestContext, RemoteAddressRequestContext {
///     var coreContext: CoreRequestContextStorage
///     var session: Session?
///     let remoteAddress: SocketAddress?
///     init(source: ApplicationRequestContextSource) {
///         self.coreContext = .init(source: source)
///         self.session = nil
///         self.remoteAddress = source.channel.remoteAddress
///     }
/// }
/// ```
public protocol StashSessionRequestContext: RequestContext {
    /// The request's session, set by ``StashRouterMiddleware/init(sessions:peerAddress:)`` before the handler runs;
    /// `nil` on routes without the session middleware.
    var session: Session? { get set }
}

extension StashRouterMiddleware where Context: StashSessionRequestContext {
    /// Runs a session middleware: handlers find the request's session in `context.session`, and the response gets
    /// the session cookie when the session was created, changed, renewed or destroyed.
    /// - Parameters:
    ///   - sessions: The session middleware.
    ///   - peerAddress: The client's address for a context (see ``init(_:peerAddress:)``).
    public init(sessions: SessionMiddleware, peerAddress: @escaping @Sendable (Context) -> String? = Self.remotePeerAddress) {
        self.init(sessions, collectingLimit: sessions.collectedBodyLimit, peerAddress: peerAddress) { request, context in
            var context = context
            context.session = request.session
            return context
        }
    }
}
