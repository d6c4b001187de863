/// A handler as a middleware wraps it: the next middleware, or the application's handler.
public typealias StashHandler = @Sendable (StashRequest) async throws -> StashResponse

/// A framework-free middleware: given a request and what follows it, returns the response. The framework adapters
/// (`StashHummingbird`) run these inside the framework's own middleware chain.
///
/// `next` is non-escaping, as Hummingbird's and Vapor's are: a middleware calls it (at most once) within
/// ``respond(to:next:)`` and keeps it no longer, so an adapter hands over the framework's own `next` as it is.
public protocol HTTPMiddleware: Sendable {
    /// Handles a request, calling `next` (at most once) when the request goes on to the application.
    func respond(to request: StashRequest, next: (StashRequest) async throws -> StashResponse) async throws -> StashResponse

    /// The largest response body, in bytes, this middleware needs to see whole (a response cache's largest
    /// cacheable body); `nil`, the default, when the response's head is all it reads. A framework adapter collects
    /// a body up to this size for it, and streams anything else to the client unchanged.
    var collectedBodyLimit: Int? { get }

    /// Whether this middleware reads ``StashRequest/peerAddress``; `true` by default. A framework adapter formats
    /// the client's address only for a middleware that reads it (the rate limiter), not on every request.
    var readsPeerAddress: Bool { get }
}

extension HTTPMiddleware {
    /// `nil`: the middleware reads only the response's head.
    public var collectedBodyLimit: Int? { nil }

    /// `true`: the middleware may read the client's address.
    public var readsPeerAddress: Bool { true }

    /// The handler this middleware makes of `handler`: requests pass through the middleware first.
    public func wrapping(_ handler: @escaping StashHandler) -> StashHandler {
        { request in try await self.respond(to: request, next: handler) }
    }
}
