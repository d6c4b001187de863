import HTTPTypes
import NIOCore
import Stash
import StashMiddleware
import Vapor

/// The handler's own Vapor response for one request, kept while the middleware works on its `StashResponse`, so that
/// a body the middleware never saw (not collected) still reaches the client, untouched.
final class VaporHandlerResponse: Sendable {
    private let response = Locked<Response?>(nil)

    /// The response as the middleware sees it: with the body when it is held in memory and fits in `limit`, else with
    /// an empty body marked as streamed, the original kept to be sent as it is.
    func stashResponse(from response: Response, collectingUpTo limit: Int?) -> StashResponse {
        let head = HTTPResponse(status: VaporConversion.status(response.status), headerFields: VaporConversion.fields(response.headers))
        if let limit, let body = Self.bodyInMemory(response.body), body.readableBytes <= limit {
            self.response.withLock { $0 = nil }
            return StashResponse(head: head, body: body)
        }
        self.response.withLock { $0 = response }
        return StashResponse(head: head, isBodyStreamed: true)
    }

    /// A body's bytes when Vapor holds it in memory (a buffer, `Data`, a string, or no body); `nil` for a stream,
    /// which is never read here. A stream declared empty counts as no body.
    private static func bodyInMemory(_ body: Response.Body) -> ByteBuffer? {
        if let buffer = body.buffer { return buffer }
        return body.count == 0 ? ByteBuffer() : nil
    }

    /// The Vapor response for what the middleware returned.
    ///
    /// `Date` is left to Vapor, which adds the current one. A streamed response is the handler's, with the status and
    /// header fields the middleware gave it (the framing
    /// field `Content-Length` stays the handler's, as the body does). Any other response is built from its head and
    /// collected body, `Content-Length` following the body except where a body is never sent (`HEAD`, whose answer
    /// keeps the length of the `GET` it stands for, 204, 304).
    /// - Throws: ``StashVaporError/streamedResponseWithoutBody`` when a response is marked streamed but did not come
    ///   from this request's handler (a middleware replaying another request's streamed response).
    func response(from stashResponse: StashResponse, for request: Request) throws -> Response {
        let original = self.response.withLock { $0.take() }
        let status = VaporConversion.status(stashResponse.head.status)
        var headers = VaporConversion.headers(stashResponse.head.headerFields)
        // Vapor adds the current `Date` to every response; one kept from the handler, or from a stored response,
        // would make two. With the current date, a downstream cache reads the response's age from `Age` alone, as
        // behind Hummingbird, which replaces `Date`.
        headers.remove(name: .date)
        if stashResponse.isBodyStreamed {
            guard let response = original else { throw StashVaporError.streamedResponseWithoutBody }
            if let contentLength = response.headers.first(name: .contentLength) {
                headers.replaceOrAdd(name: .contentLength, value: contentLength)
            } else {
                headers.remove(name: .contentLength)
            }
            response.status = status
            response.headers = headers
            return response
        }
        let code = stashResponse.head.status
        if !(request.method == .HEAD || code == .noContent || code == .notModified || code.kind == .informational) {
            headers.replaceOrAdd(name: .contentLength, value: String(stashResponse.body.readableBytes))
        }
        return Response(status: status, version: request.version, headersNoUpdate: headers, body: .init(buffer: stashResponse.body))
    }
}
