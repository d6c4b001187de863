import NIOCore
import Stash
import StashMiddleware
import StashTestSupport
import StashVapor
import Testing
import Vapor
import VaporTesting

/// The rate limiter as Vapor middleware: decisions and headers, the client's address, handler errors.
@Suite struct VaporRateLimitTests {
    static func limiter(_ store: any Store, limit: Int, identity: ClientIdentity) throws -> RateLimiter {
        try RateLimiter(
            store: store,
            configuration: .init(
                policies: [RateLimitPolicy(rule: RateLimitRule(limit: limit, per: .seconds(86_400)))],
                identity: identity
            )
        )
    }

    /// `/limited` behind the limiter, counting its runs; `/teapot` behind it too, throwing Vapor's `Abort`.
    static func configure(_ app: Application, limiter: RateLimiter, runs: RunCounter) {
        let limited = app.grouped(StashVaporMiddleware(limiter))
        limited.get("limited") { _ -> Response in
            runs.increment()
            return Response(status: .ok, headers: ["Content-Type": "text/plain", "X-Handler": "yes"], body: .init(string: "hello"))
        }
        limited.get("teapot") { _ -> String in
            throw Abort(.imATeapot, reason: "short and stout")
        }
    }

    @Test func admittedResponsesKeepTheHandlersResponseAndGainHeadersRefusedOnesGet429() async throws {
        let runs = RunCounter()
        let limiter = try Self.limiter(MemoryStore(), limit: 2, identity: .custom { _ in "one client" })
        try await withVaporApp { app in
            Self.configure(app, limiter: limiter, runs: runs)
            let tester = try app.testing()
            for remaining in [1, 0] {
                try await tester.test(.GET, "limited") { response in
                    #expect(response.status == .ok)
                    #expect(response.body.string == "hello")
                    #expect(response.headers.first(name: "X-Handler") == "yes")
                    // `t` is what is left of the day-long window, which started at the last whole day.
                    let rateLimit = try #require(response.headers.first(name: "RateLimit"))
                    #expect(rateLimit.hasPrefix("\"default\";r=\(remaining);t="))
                    #expect(rateLimit.split(separator: "=").last.flatMap { Int($0) }.map { (1...86_400).contains($0) } == true)
                    #expect(response.headers.first(name: "RateLimit-Policy") == "\"default\";q=2;w=86400")
                }
            }
            try await tester.test(.GET, "limited") { response in
                #expect(response.status == .tooManyRequests)
                #expect(response.headers.first(name: .retryAfter).flatMap(Int.init).map { $0 > 0 } == true)
                #expect(response.headers.first(name: "X-Handler") == nil)
            }
            #expect(runs.count == 2, "a refused request never reaches the handler")
        }
    }

    @Test func twoHundredConcurrentRequestsAdmitExactlyTheLimit() async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let runs = RunCounter()
            let limiter = try Self.limiter(store, limit: 37, identity: .custom { _ in "one client" })
            try await withVaporApp { app in
                Self.configure(app, limiter: limiter, runs: runs)
                let tester = try app.testing()
                let statuses = try await withThrowingTaskGroup(of: HTTPStatus.self) { group in
                    for _ in 0..<200 {
                        group.addTask { try await tester.sendRequest(.GET, "limited").status }
                    }
                    return try await group.reduce(into: [HTTPStatus]()) { $0.append($1) }
                }
                #expect(statuses.filter { $0 == .ok }.count == 37, "\(name)")
                #expect(statuses.filter { $0 == .tooManyRequests }.count == 163, "\(name)")
                #expect(runs.count == 37, "\(name)")
            }
        }
    }

    @Test func theClientIsTheConnectionsPeerAndForwardedForCountsOnlyFromATrustedProxy() async throws {
        for (trusted, shared) in [([String](), true), (["127.0.0.0/8"], false)] {
            let runs = RunCounter()
            let limiter = try Self.limiter(MemoryStore(), limit: 1, identity: .clientAddress(trustedProxies: trusted))
            try await withVaporApp { app in
                Self.configure(app, limiter: limiter, runs: runs)
                // A real socket: the peer is 127.0.0.1, as Vapor's `remoteAddress` gives it.
                let tester = try app.testing(method: .running(hostname: "127.0.0.1", port: 0))
                let first = try await tester.sendRequest(.GET, "limited", headers: ["X-Forwarded-For": "198.51.100.1"])
                let second = try await tester.sendRequest(.GET, "limited", headers: ["X-Forwarded-For": "198.51.100.2"])
                #expect(first.status == .ok)
                // Untrusted: both are the peer 127.0.0.1, so the second is over the limit. Trusted: two clients.
                #expect(second.status == (shared ? .tooManyRequests : .ok), "trusted proxies: \(trusted)")
            }
        }
    }

    @Test func handlerErrorsReachVaporsErrorMiddlewareUnchanged() async throws {
        let limiter = try Self.limiter(MemoryStore(), limit: 10, identity: .custom { _ in "one client" })
        try await withVaporApp { app in
            Self.configure(app, limiter: limiter, runs: RunCounter())
            try await app.testing().test(.GET, "teapot") { response in
                #expect(response.status == .imATeapot)
                #expect(response.body.string.contains("short and stout"))
            }
        }
    }
}

extension VaporRateLimitTests {
    /// The same limiter on the application and again on a route group counts each request twice: it says so, once.
    @Test func aLimiterAppliedTwiceToARequestIsWarnedAboutOnce() async throws {
        let logs = CapturedLogs()
        let limiter = try RateLimiter(
            store: MemoryStore(),
            configuration: .init(
                policies: [RateLimitPolicy(rule: RateLimitRule(limit: 10, per: .seconds(86_400)))],
                identity: .custom { _ in "one client" },
                logger: Logger(label: "test") { _ in CapturedLogs.Handler(logs: logs) }
            )
        )
        try await withVaporApp { app in
            let once = app.grouped(StashVaporMiddleware(limiter))
            once.get("once") { _ in "once" }
            once.grouped(StashVaporMiddleware(limiter)).get("twice") { _ in "twice" }
            let tester = try app.testing()
            try await tester.test(.GET, "once") { response in #expect(response.status == .ok) }
            #expect(logs.warnings.isEmpty)
            for _ in 0..<3 {
                try await tester.test(.GET, "twice") { response in #expect(response.status == .ok) }
            }
        }
        #expect(logs.warnings.count == 1, "\(logs.warnings)")
        #expect(logs.warnings.first?.contains("applied twice") == true)
    }
}
