import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Stash
import StashHummingbird
import StashMiddleware
import StashTestSupport
import Testing

@Suite struct BodyCollectionTests {
    /// An application with the recorder collecting up to `limit` bytes, whose `/body` route answers `bytes` in 1000-byte
    /// chunks, its length declared or not.
    static func application(
        _ recorder: RecordingMiddleware,
        limit: Int?,
        bytes: ByteBuffer,
        declaringLength: Bool
    ) -> some ApplicationProtocol {
        let router = Router(context: TestContext.self)
        router.add(middleware: StashRouterMiddleware(recorder, collectingLimit: limit))
        router.get("/body") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "application/octet-stream"],
                body: chunkedBody(bytes, chunkSize: 1000, declaringLength: declaringLength)
            )
        }
        router.post("/echo") { request, _ in
            Response(status: .ok, body: ResponseBody(asyncSequence: request.body))
        }
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }

    @Test func aBodyUnderTheLimitIsCollectedForTheMiddleware() async throws {
        let bytes = patternBytes(count: 2500)
        let recorder = RecordingMiddleware()
        try await Self.application(recorder, limit: 4096, bytes: bytes, declaringLength: true).test(.router) { client in
            let response = try await client.execute(uri: "/body", method: .get)
            #expect(response.status == .ok)
            #expect(response.body == bytes)
            #expect(response.headers[.contentLength] == "2500")
        }
        let seen = try #require(recorder.all.first)
        #expect(!seen.response.isBodyStreamed)
        #expect(seen.response.body == bytes, "three chunks collected whole")
        #expect(seen.response.head.headerFields[.contentType] == "application/octet-stream")
    }

    @Test func aBodyExactlyAtTheLimitIsCollected() async throws {
        let bytes = patternBytes(count: 3000)
        let recorder = RecordingMiddleware()
        try await Self.application(recorder, limit: 3000, bytes: bytes, declaringLength: true).test(.router) { client in
            let response = try await client.execute(uri: "/body", method: .get)
            #expect(response.body == bytes)
        }
        #expect(recorder.all.first?.response.body == bytes)
    }

    @Test func aCollectedBodyTheMiddlewareReplacesIsSentWithItsOwnLength() async throws {
        let recorder = RecordingMiddleware { response in
            response.body = ByteBuffer(string: "replaced")
            response.head.headerFields[.init("X-Replaced")!] = "1"
        }
        try await Self.application(recorder, limit: 4096, bytes: patternBytes(count: 2500), declaringLength: true).test(.router) { client in
            let response = try await client.execute(uri: "/body", method: .get)
            #expect(String(buffer: response.body) == "replaced")
            #expect(response.headers[.contentLength] == "8")
            #expect(response.headers[.init("X-Replaced")!] == "1")
        }
    }

    @Test(arguments: [true, false])
    func aBodyOverTheLimitStreamsToTheClientByteIdentical(declaringLength: Bool) async throws {
        let bytes = patternBytes(count: 300_000)
        let recorder = RecordingMiddleware { response in
            response.head.headerFields[.init("X-Seen")!] = response.isBodyStreamed ? "streamed" : "collected"
        }
        try await Self.application(recorder, limit: 4096, bytes: bytes, declaringLength: declaringLength).test(.live) { client in
            let response = try await client.execute(uri: "/body", method: .get)
            #expect(response.status == .ok)
            #expect(response.body.readableBytes == bytes.readableBytes)
            #expect(response.body == bytes, "byte-identical at the client")
            #expect(response.headers[.init("X-Seen")!] == "streamed", "the middleware's fields still reach the client")
            #expect(response.headers[.contentLength] == (declaringLength ? "300000" : nil))
        }
        let seen = try #require(recorder.all.first)
        #expect(seen.response.isBodyStreamed, "the core is told the body was not collected")
        #expect(seen.response.body.readableBytes == 0)
    }

    @Test func withoutALimitNoBodyIsCollectedAndTheResponseIsTheHandlers() async throws {
        let bytes = patternBytes(count: 5000)
        let recorder = RecordingMiddleware { response in response.head.headerFields[.init("X-Added")!] = "yes" }
        try await Self.application(recorder, limit: nil, bytes: bytes, declaringLength: true).test(.router) { client in
            let response = try await client.execute(uri: "/body", method: .get)
            #expect(response.body == bytes)
            #expect(response.headers[.contentLength] == "5000")
            #expect(response.headers[.contentType] == "application/octet-stream")
            #expect(response.headers[.init("X-Added")!] == "yes")
        }
        let seen = try #require(recorder.all.first)
        #expect(seen.response.isBodyStreamed && seen.response.body.readableBytes == 0)
    }

    @Test func theRequestBodyReachesTheHandlerUncollected() async throws {
        let upload = patternBytes(count: 100_000, seed: 3)
        let recorder = RecordingMiddleware()
        try await Self.application(recorder, limit: nil, bytes: ByteBuffer(), declaringLength: true).test(.live) { client in
            let response = try await client.execute(uri: "/echo", method: .post, body: upload)
            #expect(response.body == upload)
        }
        let seen = try #require(recorder.all.first)
        #expect(seen.request.head.method == .post && seen.request.head.path == "/echo")
    }
}

/// The adapter collects what the middleware asks for when it is given no limit of its own.
@Suite struct MiddlewareBodyLimitTests {
    @Test func aResponseCacheIsGivenItsBodiesAndServesHits() async throws {
        let cache = ResponseCache(store: MemoryStore())
        let middleware = StashRouterMiddleware<TestContext>(cache)
        #expect(middleware.collectingLimit == cache.maximumBodySize)
        let router = Router(context: TestContext.self)
        router.add(middleware: middleware)
        router.get("/page") { _, _ in "page" }
        try await Application(router: router).test(.router) { client in
            let first = try await client.execute(uri: "/page", method: .get)
            #expect(first.headers[HTTPField.Name("Cache-Status")!] == "Stash; fwd=uri-miss; stored")
            let second = try await client.execute(uri: "/page", method: .get)
            #expect(second.headers[HTTPField.Name("Cache-Status")!]?.hasPrefix("Stash; hit") == true)
            #expect(String(buffer: second.body) == "page")
        }
    }

    @Test func aRateLimiterAndSessionsAreGivenNoBody() throws {
        let limiter = RateLimiter(
            store: MemoryStore(),
            configuration: try .init(policies: [RateLimitPolicy(rule: RateLimitRule(limit: 1, per: .seconds(1)))], identity: .clientAddress())
        )
        #expect(StashRouterMiddleware<TestContext>(limiter).collectingLimit == nil)
        #expect(StashRouterMiddleware<TestContext>(SessionMiddleware(store: MemoryStore())).collectingLimit == nil)
    }
}
