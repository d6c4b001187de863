import HTTPTypes
import NIOCore
import StashMiddleware
import StashTestSupport
import StashVapor
import Testing
import Vapor
import VaporTesting

/// What the Vapor adapter hands a middleware of a response, and what the client then gets.
@Suite struct VaporBodyCollectionTests {
    /// `/body` answers `bytes` (in memory, or as a stream), `/echo` streams the request body back, both behind
    /// `recorder` collecting up to `limit`.
    static func configure(_ app: Application, _ recorder: RecordingMiddleware, limit: Int?, bytes: ByteBuffer, streamed: Bool) {
        let routes = app.grouped(StashVaporMiddleware(recorder, collectingLimit: limit))
        routes.get("body") { _ -> Response in
            let body = streamed ? streamedBody(bytes, chunkSize: 1000, declaringLength: false) : Response.Body(buffer: bytes)
            return Response(status: .ok, headers: ["Content-Type": "application/octet-stream"], body: body)
        }
        routes.on(.POST, "echo", body: .stream) { req -> Response in
            Response(
                status: .ok,
                body: Response.Body(managedAsyncStream: { writer in
                    for try await chunk in req.body { try await writer.write(.buffer(chunk)) }
                })
            )
        }
    }

    @Test func aBodyUpToTheLimitIsHandedOverWhole() async throws {
        for count in [2500, 3000] {
            let bytes = patternBytes(count: count)
            let recorder = RecordingMiddleware()
            try await withVaporApp { app in
                Self.configure(app, recorder, limit: 3000, bytes: bytes, streamed: false)
                let response = try await app.testing().sendRequest(.GET, "body")
                #expect(response.body == bytes)
                #expect(response.headers.first(name: .contentLength) == String(count))
            }
            let seen = try #require(recorder.all.first)
            #expect(!seen.response.isBodyStreamed && seen.response.body == bytes, "\(count) bytes")
            #expect(seen.response.head.headerFields[.contentType] == "application/octet-stream")
        }
    }

    @Test func aCollectedBodyTheMiddlewareReplacesIsSentWithItsOwnLength() async throws {
        let recorder = RecordingMiddleware { response in
            response.body = ByteBuffer(string: "replaced")
            response.head.headerFields[HTTPField.Name("X-Replaced")!] = "1"
        }
        try await withVaporApp { app in
            Self.configure(app, recorder, limit: 4096, bytes: patternBytes(count: 2500), streamed: false)
            let response = try await app.testing(method: .running(hostname: "127.0.0.1", port: 0)).sendRequest(.GET, "body")
            #expect(response.body.string == "replaced")
            #expect(response.headers.first(name: .contentLength) == "8")
            #expect(response.headers.first(name: "X-Replaced") == "1")
        }
    }

    @Test(arguments: [false, true])
    func aBodyOverTheLimitOrAStreamReachesTheClientByteIdentical(streamed: Bool) async throws {
        let bytes = patternBytes(count: streamed ? 3000 : 300_000)
        let recorder = RecordingMiddleware { response in
            response.head.headerFields[HTTPField.Name("X-Seen")!] = response.isBodyStreamed ? "streamed" : "collected"
        }
        try await withVaporApp { app in
            Self.configure(app, recorder, limit: 4096, bytes: bytes, streamed: streamed)
            let response = try await app.testing(method: .running(hostname: "127.0.0.1", port: 0)).sendRequest(.GET, "body")
            #expect(response.status == .ok)
            #expect(response.body == bytes, "byte-identical at the client")
            #expect(response.headers.first(name: "X-Seen") == "streamed", "the middleware's fields still reach the client")
        }
        let seen = try #require(recorder.all.first)
        #expect(seen.response.isBodyStreamed && seen.response.body.readableBytes == 0)
    }

    @Test func withoutALimitNoBodyIsCollectedAndTheResponseIsTheHandlers() async throws {
        let bytes = patternBytes(count: 5000)
        let recorder = RecordingMiddleware { response in response.head.headerFields[HTTPField.Name("X-Added")!] = "yes" }
        try await withVaporApp { app in
            Self.configure(app, recorder, limit: nil, bytes: bytes, streamed: false)
            let response = try await app.testing().sendRequest(.GET, "body")
            #expect(response.body == bytes)
            #expect(response.headers.first(name: .contentLength) == "5000")
            #expect(response.headers.first(name: "X-Added") == "yes")
        }
        let seen = try #require(recorder.all.first)
        #expect(seen.response.isBodyStreamed && seen.response.body.readableBytes == 0)
    }

    @Test func theRequestBodyReachesTheHandlerUncollected() async throws {
        let upload = patternBytes(count: 100_000, seed: 3)
        let recorder = RecordingMiddleware()
        try await withVaporApp { app in
            Self.configure(app, recorder, limit: nil, bytes: ByteBuffer(), streamed: false)
            let response = try await app.testing(method: .running(hostname: "127.0.0.1", port: 0))
                .sendRequest(.POST, "echo", body: upload)
            #expect(response.body == upload)
        }
        let seen = try #require(recorder.all.first)
        #expect(seen.request.head.method == .post && seen.request.head.path == "/echo")
    }

    @Test func middlewareChangesToTheRequestHeadReachTheHandler() async throws {
        struct Rewriter: HTTPMiddleware {
            func respond(to request: StashRequest, next: (StashRequest) async throws -> StashResponse) async throws -> StashResponse {
                var request = request
                request.head.headerFields[HTTPField.Name("X-Rewritten")!] = "by the middleware"
                return try await next(request)
            }
        }
        try await withVaporApp { app in
            app.grouped(StashVaporMiddleware(Rewriter())).get("seen") { req in req.headers.first(name: "X-Rewritten") ?? "none" }
            let response = try await app.testing().sendRequest(.GET, "seen", headers: ["Host": "example.com"])
            #expect(response.body.string == "by the middleware")
        }
    }

    @Test func aStreamedResponseThatIsNotThisRequestsIsATypedError() async throws {
        struct Replayer: HTTPMiddleware {
            func respond(to request: StashRequest, next: (StashRequest) async throws -> StashResponse) async throws -> StashResponse {
                StashResponse(head: HTTPResponse(status: .ok), isBodyStreamed: true)
            }
        }
        try await withVaporApp { app in
            app.grouped(StashVaporMiddleware(Replayer())).get("replayed") { _ in "never" }
            let response = try await app.testing().sendRequest(.GET, "replayed")
            #expect(response.status == .internalServerError, "Vapor's error middleware answers the adapter's error")
            // Outside production Vapor shows the error's description.
            #expect(response.body.string.contains("StashVaporError.streamedResponseWithoutBody: "), "\(response.body.string)")
        }
    }
}
