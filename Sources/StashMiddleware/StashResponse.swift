public import HTTPTypes
public import NIOCore

/// A response as the middleware sees it: a swift-http-types head and its whole body.
public struct StashResponse: Sendable {
    /// The status and header fields.
    public var head: HTTPResponse
    /// The body.
    public var body: ByteBuffer
    /// `true` when the framework adapter sends the body to the client itself, uncollected, because it was larger than
    /// the limit a middleware asked it to collect (the response cache's body size limit): ``body`` is then empty, and no
    /// middleware may store or replay this response.
    public var isBodyStreamed: Bool

    /// Creates a response.
    public init(head: HTTPResponse, body: ByteBuffer = ByteBuffer(), isBodyStreamed: Bool = false) {
        self.head = head
        self.body = body
        self.isBodyStreamed = isBodyStreamed
    }

    /// Creates a response with a status, header fields and a text body.
    public init(status: HTTPResponse.Status, headerFields: HTTPFields = [:], body: String) {
        self.init(head: HTTPResponse(status: status, headerFields: headerFields), body: ByteBuffer(string: body))
    }
}
