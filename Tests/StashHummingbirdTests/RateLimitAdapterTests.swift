import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Stash
import StashHummingbird
import StashMiddleware
import StashTestSupport
import Testing

@Suite struct RateLimitAdapterTests {
    static func limiter(_ store: any Store, limit: Int, trustedProxies: [String] = []) throws -> RateLimiter {
        try RateLimiter(
            store: store,
            configuration: .init(
                policies: [RateLimitPolicy(rule: RateLimitRule(limit: limit, per: .seconds(86_400)))],
                identity: .clientAddress(trustedProxies: trustedProxies)
            )
        )
    }

    /// An application whose `/limited` route runs behind the limiter and counts its runs.
    static func application(_ limiter: RateLimiter, runs: RunCounter = RunCounter()) -> some ApplicationProtocol {
        let router = Router(context: TestContext.self)
        router.add(middleware: StashRouterMiddleware(limiter))
        router.get("/limited") { _, _ in
            runs.increment()
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain", .init("X-Handler")!: "yes"],
                body: .init(byteBuffer: ByteBuffer(string: "hello"))
            )
        }
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }

    @Test func admittedResponsesKeepTheHandlersResponseAndGainHeadersRefusedOnesGet429() async throws {
        let limiter = try Self.limiter(MemoryStore(), limit: 2)
        try await Self.application(limiter).test(.router) { client in
            for remaining in [1, 0] {
                try await client.execute(uri: "/limited", method: .get) { response in
                    #expect(response.status == .ok)
                    #expect(String(buffer: response.body) == "hello")
                    #expect(response.headers[.contentLength] == "5")
                    #expect(response.headers[.init("X-Handler")!] == "yes", "the handler's own fields stay")
                    #expect(response.headers[.init("RateLimit-Policy")!] == "\"default\";q=2;w=86400")
                    #expect(response.headers[.init("RateLimit")!]?.hasPrefix("\"default\";r=\(remaining);t=") == true)
                }
            }
            try await client.execute(uri: "/limited", method: .get) { response in
                #expect(response.status == .tooManyRequests)
                #expect(String(buffer: response.body) == "Too Many Requests\n")
                #expect(response.headers[.contentLength] == "18")
                #expect(response.headers[.init("X-Handler")!] == nil, "the handler did not run")
                let retryAfter = try #require(response.headers[.retryAfter].flatMap { Int($0) })
                #expect(retryAfter >= 1 && retryAfter <= 86_400)
            }
        }
    }

    @Test func twoHundredConcurrentRequestsAdmitExactlyTheLimit() async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let runs = RunCounter()
            let limiter = try Self.limiter(store, limit: 10)
            let statuses = try await Self.application(limiter, runs: runs).test(.router) { client in
                try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                    for _ in 0..<200 {
                        group.addTask { try await client.execute(uri: "/limited", method: .get).status }
                    }
                    var statuses: [HTTPResponse.Status] = []
                    for try await status in group { statuses.append(status) }
                    return statuses
                }
            }
            #expect(statuses.filter { $0 == .ok }.count == 10, "\(name): exactly 10 of 200 admitted")
            #expect(statuses.filter { $0 == .tooManyRequests }.count == 190, "\(name)")
            #expect(runs.count == 10, "\(name): the handler ran only for admitted requests")
        }
    }

    @Test func forwardedForFromAnUntrustedPeerIsIgnored() async throws {
        // The live server's peer is 127.0.0.1, which is not a trusted proxy: every forwarded address is the peer's.
        let limiter = try Self.limiter(MemoryStore(), limit: 1, trustedProxies: ["10.0.0.0/8"])
        try await Self.application(limiter).test(.live) { client in
            let first = try await client.execute(uri: "/limited", method: .get, headers: [.init("X-Forwarded-For")!: "203.0.113.1"])
            #expect(first.status == .ok)
            let spoofed = try await client.execute(uri: "/limited", method: .get, headers: [.init("X-Forwarded-For")!: "203.0.113.2"])
            #expect(spoofed.status == .tooManyRequests, "a new forwarded address from an untrusted peer is not a new client")
        }
    }

    @Test func handlerErrorsPassThroughUnchanged() async throws {
        for limit in [nil, 1024] as [Int?] {
            let router = Router(context: TestContext.self)
            router.add(middleware: StashRouterMiddleware(try Self.limiter(MemoryStore(), limit: 10), collectingLimit: limit))
            router.get("/teapot") { _, _ -> Response in
                throw HTTPError(.init(code: 418, reasonPhrase: "I'm a teapot"), headers: [.init("X-Brew")!: "earl-grey"], message: "short and stout")
            }
            try await Application(router: router).test(.router) { client in
                try await client.execute(uri: "/teapot", method: .get) { response in
                    #expect(response.status.code == 418, "limit \(String(describing: limit))")
                    #expect(response.headers[.init("X-Brew")!] == "earl-grey")
                    #expect(String(buffer: response.body).contains("short and stout"))
                }
            }
        }
    }
}

extension RateLimitAdapterTests {
    /// The same limiter on the router and again on a route group counts each request twice: it says so, once.
    @Test func aLimiterAppliedTwiceToARequestIsWarnedAboutOnce() async throws {
        let logs = CapturedLogs()
        let logger = Logger(label: "test") { _ in CapturedLogs.Handler(logs: logs) }
        let limiter = try RateLimiter(
            store: MemoryStore(),
            configuration: .init(
                policies: [RateLimitPolicy(rule: RateLimitRule(limit: 10, per: .seconds(86_400)))],
                identity: .clientAddress(),
                logger: logger
            )
        )
        let other = try Self.limiter(MemoryStore(), limit: 10)
        let router = Router(context: TestContext.self)
        router.add(middleware: StashRouterMiddleware(limiter))
        router.group("/api").add(middleware: StashRouterMiddleware(other)).get("/once") { _, _ in "once" }
        router.group("/twice").add(middleware: StashRouterMiddleware(limiter)).get("/twice") { _, _ in "twice" }
        let application = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await application.test(.router) { client in
            try await client.execute(uri: "/api/once", method: .get) { response in
                #expect(response.headers[.init("RateLimit")!]?.hasPrefix("\"default\";r=9;") == true)
            }
            #expect(logs.warnings.isEmpty, "two different limiters are no mistake")
            for _ in 0..<3 {
                try await client.execute(uri: "/twice/twice", method: .get) { response in #expect(response.status == .ok) }
            }
        }
        let warnings = logs.warnings
        #expect(warnings.count == 1, "\(warnings)")
        #expect(warnings.first?.contains("applied twice") == true && warnings.first?.contains("/twice/twice") == true)
    }
}
