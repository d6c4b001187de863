import HTTPTypes
import Hummingbird
import NIOCore
import StashMiddleware
import Testing

@testable import StashHummingbird

/// The adapter's typed errors: a handler's body that breaks its own framing, a streamed response from elsewhere.
@Suite struct AdapterErrorTests {
    /// Runs `body` and returns the code of the `StashHummingbirdError` it throws, recording an issue otherwise.
    static func code(_ body: () async throws -> Void) async -> StashHummingbirdError.Code? {
        do {
            try await body()
            Issue.record("expected a StashHummingbirdError, but it succeeded")
        } catch let error as StashHummingbirdError {
            return error.code
        } catch {
            Issue.record("expected a StashHummingbirdError, got \(type(of: error)): \(error)")
        }
        return nil
    }

    @Test func aBodyWritingMoreThanItsDeclaredLength() async {
        let body = ResponseBody(contentLength: 4) { writer in
            try await writer.write(ByteBuffer(string: "longer than four"))
            try await writer.finish(nil)
        }
        let code = await Self.code { _ = try await ResponseBodyCollector.collect(body, expectedLength: 4) }
        #expect(code == .bodyLongerThanDeclared)
    }

    @Test func aBodyThatNeverFinishes() async {
        let body = ResponseBody(contentLength: 4) { writer in
            try await writer.write(ByteBuffer(string: "four"))
        }
        let code = await Self.code { _ = try await ResponseBodyCollector.collect(body, expectedLength: 4) }
        #expect(code == .bodyNotFinished)
    }

    @Test func aStreamedResponseThatIsNotThisRequests() async {
        let request = Request(
            head: HTTPRequest(method: .get, scheme: "http", authority: "localhost", path: "/"),
            body: RequestBody(buffer: ByteBuffer())
        )
        let code = await Self.code {
            _ = try HandlerResponse().response(from: StashResponse(head: HTTPResponse(status: .ok), isBodyStreamed: true), for: request)
        }
        #expect(code == .streamedResponseWithoutBody)
        #expect("\(StashHummingbirdError.streamedResponseWithoutBody)".hasPrefix("StashHummingbirdError.streamedResponseWithoutBody: "))
    }
}
