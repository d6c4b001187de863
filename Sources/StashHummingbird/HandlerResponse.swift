import HTTPTypes
import Hummingbird
import NIOCore
import Stash
import StashMiddleware

/// The handler's own Hummingbird response for one request, kept while the middleware works on its `StashResponse`,
/// so that a body the middleware never saw (not collected) still reaches the client, untouched.
final class HandlerResponse: Sendable {
    private let response = Locked<Response?>(nil)

    /// The response as the middleware sees it: with the body collected when it is known to fit in `limit`, else
    /// with an empty body marked as streamed, the original kept to be sent as it is.
    func stashResponse(from response: Response, collectingUpTo limit: Int?) async throws -> StashResponse {
        if let limit, let length = response.body.contentLength, length <= limit {
            let body = try await ResponseBodyCollector.collect(response.body, expectedLength: length)
            self.response.withLock { $0 = nil }
            return StashResponse(head: response.head, body: body)
        }
        self.response.withLock { $0 = response }
        return StashResponse(head: response.head, isBodyStreamed: true)
    }

    /// The Hummingbird response for what the middleware returned.
    ///
    /// A streamed response is the handler's, with the status and header fields the middleware gave it (the framing
    /// field `Content-Length` stays the handler's, as the body does). Any other response is built from its head and
    /// collected body, `Content-Length` following the body except where a body is never sent (HEAD, 204, 304).
    /// - Throws: ``StashHummingbirdError`` when a response is marked streamed but did not come from this request's
    ///   handler (a middleware replaying another request's streamed response).
    func response(from stashResponse: StashResponse, for request: Request) throws -> Response {
        let original = self.response.withLock { $0.take() }
        let status = stashResponse.head.status
        if stashResponse.isBodyStreamed {
            guard var response = original else { throw StashHummingbirdError.streamedResponseWithoutBody }
            let contentLength = response.headers[.contentLength]
            response.status = status
            response.headers = stashResponse.head.headerFields
            response.headers[.contentLength] = contentLength
            return response
        }
        var response = Response(status: status, headers: stashResponse.head.headerFields, body: ResponseBody(byteBuffer: stashResponse.body))
        if request.method == .head || status == .noContent || status == .notModified || status.kind == .informational {
            response.headers[.contentLength] = stashResponse.head.headerFields[.contentLength]
        } else {
            response.headers[.contentLength] = String(stashResponse.body.readableBytes)
        }
        return response
    }
}
