import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Stash
import StashHummingbird
import StashMiddleware
import StashTestSupport
import Testing

@Suite struct ClientAddressTests {
    static func application<Context: RequestContext>(
        _ middleware: StashRouterMiddleware<Context>,
        host: String = "127.0.0.1"
    ) -> some ApplicationProtocol where Context.Source == ApplicationRequestContextSource {
        let router = Router(context: Context.self)
        router.add(middleware: middleware)
        router.get("/") { _, _ in "ok" }
        return Application(router: router, configuration: .init(address: .hostname(host, port: 0)))
    }

    @Test func theAddressOfARemoteAddressContextWithoutPort() async throws {
        let recorder = RecordingMiddleware()
        try await Self.application(StashRouterMiddleware<TestContext>(recorder)).test(.live) { client in
            let response = try await client.execute(uri: "/", method: .get)
            #expect(response.status == .ok)
        }
        #expect(recorder.all.first?.request.peerAddress == "127.0.0.1")
    }

    @Test func aContextWithoutARemoteAddressGivesNone() async throws {
        let recorder = RecordingMiddleware()
        try await Self.application(StashRouterMiddleware<BasicRequestContext>(recorder)).test(.live) { client in
            let response = try await client.execute(uri: "/", method: .get)
            #expect(response.status == .ok)
        }
        let seen = try #require(recorder.all.first)
        #expect(seen.request.peerAddress == nil)
    }

    @Test func aCustomAddressFunction() async throws {
        let recorder = RecordingMiddleware()
        let middleware = StashRouterMiddleware<TestContext>(recorder) { context in
            context.remoteAddress.map { "peer:\($0.port ?? -1 > 0 ? "port" : "none")" }
        }
        try await Self.application(middleware).test(.live) { client in
            let response = try await client.execute(uri: "/", method: .get)
            #expect(response.status == .ok)
        }
        #expect(recorder.all.first?.request.peerAddress == "peer:port")
    }

    @Test func theAddressIsNotFormattedForAMiddlewareThatNeverReadsIt() async throws {
        final class IgnoresAddress: HTTPMiddleware {
            let seen = Locked<[String?]>([])
            var readsPeerAddress: Bool { false }
            func respond(to request: StashRequest, next: (StashRequest) async throws -> StashResponse) async throws -> StashResponse {
                self.seen.withLock { $0.append(request.peerAddress) }
                return try await next(request)
            }
        }
        let calls = Locked(0)
        let ignoring = IgnoresAddress()
        let middleware = StashRouterMiddleware<TestContext>(ignoring) { context in
            calls.withLock { $0 += 1 }
            return context.remoteAddress?.ipAddress
        }
        try await Self.application(middleware).test(.live) { client in
            let response = try await client.execute(uri: "/", method: .get)
            #expect(response.status == .ok)
        }
        #expect(calls.withLock { $0 } == 0, "the address function never ran")
        #expect(ignoring.seen.withLock { $0 } == [nil])
        #expect(SessionMiddleware(store: MemoryStore()).readsPeerAddress == false, "sessions never read it")
    }

    @Test func middlewareChangesToTheRequestHeadReachTheHandler() async throws {
        struct AddsField: HTTPMiddleware {
            func respond(to request: StashRequest, next: (StashRequest) async throws -> StashResponse) async throws -> StashResponse {
                var request = request
                request.head.headerFields[.init("X-Added")!] = "by-middleware"
                return try await next(request)
            }
        }
        let router = Router(context: TestContext.self)
        router.add(middleware: StashRouterMiddleware(AddsField()))
        router.get("/") { request, _ in request.headers[.init("X-Added")!] ?? "missing" }
        try await Application(router: router).test(.router) { client in
            let response = try await client.execute(uri: "/", method: .get)
            #expect(String(buffer: response.body) == "by-middleware")
        }
    }
}
