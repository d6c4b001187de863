public import HTTPTypes
public import NIOCore

/// A response as the middleware sees it: a swift-http-types head and its whole body.
public struct StashResponse: Sendable {
    /// The status and header fields.
    public var head: HTTPResponse
    /// The body.
    public var body: ByteBuffer

    /// Creates a response.
    public init(head: HTTPResponse, body: ByteBuffer = ByteBuffer()) {
        self.head = head
        self.body = body
    }

    /// Creates a response with a status, header fields and a text body.
    public init(status: HTTPResponse.Status, headerFields: HTTPFields = [:], body: String) {
        self.init(head: HTTPResponse(status: status, headerFields: headerFields), body: ByteBuffer(string: body))
    }
}
