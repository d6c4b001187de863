public import HTTPTypes

/// A request as the middleware sees it, whatever the framework: a swift-http-types head and the address of the peer
/// that sent it (which the framework adapter supplies). The body is not here: no middleware reads it, so an adapter
/// never collects it, and it reaches the handler as the framework streams it.
public struct StashRequest: Sendable {
    /// The method, path, authority and header fields.
    public var head: HTTPRequest
    /// The address of the connection's peer (an IPv4 or IPv6 address, without port), or `nil` when unknown.
    public var peerAddress: String?
    /// The request's session, which ``SessionMiddleware`` sets before the handler runs; `nil` without that middleware.
    public var session: Session? = nil

    /// Creates a request.
    public init(head: HTTPRequest, peerAddress: String? = nil) {
        self.head = head
        self.peerAddress = peerAddress
    }

    /// The path without its query, as the request target has it (`/` when empty).
    public var pathWithoutQuery: Substring {
        let target = self.head.path ?? "/"
        let path = target[..<(target.firstIndex(of: "?") ?? target.endIndex)]
        return path.isEmpty ? "/" : path
    }
}
