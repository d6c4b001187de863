import Foundation
import HTTPTypes
import Logging
import NIOCore
import Stash
import StashRedis
import StashTestSupport
import StashTesting
import Synchronization
import Testing

@testable import StashMiddleware

@Suite struct RateLimiterTests {
    static let ok: StashHandler = { _ in StashResponse(status: .ok, body: "ok") }

    static func request(_ path: String = "/limited", peer: String? = "192.0.2.1", headers: HTTPFields = [:]) -> StashRequest {
        StashRequest(head: HTTPRequest(method: .get, scheme: "http", authority: "localhost", path: path, headerFields: headers), peerAddress: peer)
    }

    static func limiter(
        _ store: any Store,
        limit: Int = 10,
        algorithm: RateLimitRule.Algorithm = .fixedWindow,
        trustedProxies: [String] = [],
        ipv6Subnet: Int = ClientIdentity.defaultIPv6Subnet,
        legacyHeaders: Bool = false
    ) throws -> RateLimiter {
        try RateLimiter(
            store: store,
            configuration: .init(
                policies: [RateLimitPolicy(rule: RateLimitRule(limit: limit, per: .seconds(86_400), algorithm: algorithm))],
                identity: .clientAddress(trustedProxies: trustedProxies, ipv6Subnet: ipv6Subnet),
                excludedPaths: ["/health"],
                legacyHeaders: legacyHeaders
            )
        )
    }

    @Test func twoHundredConcurrentRequestsAgainstALimitOfTenAdmitExactlyTenAlsoAcrossTwoInstances() async throws {
        for (name, store) in try TestStores.all() {
            for algorithm in [RateLimitRule.Algorithm.fixedWindow, .slidingWindow, .tokenBucket(burst: 10)] {
                try await store.deleteAll()
                // Two middleware instances (two app instances) on one store.
                let instances = [try Self.limiter(store, algorithm: algorithm), try Self.limiter(store, algorithm: algorithm)]
                let runs = Atomic<Int>(0)
                let handler: StashHandler = { _ in
                    runs.add(1, ordering: .relaxed)
                    return StashResponse(status: .ok, body: "ok")
                }
                let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                    for index in 0..<200 {
                        let limiter = instances[index % 2]
                        group.addTask { try await limiter.respond(to: Self.request(), next: handler).head.status }
                    }
                    var statuses: [HTTPResponse.Status] = []
                    for try await status in group { statuses.append(status) }
                    return statuses
                }
                #expect(statuses.filter { $0 == .ok }.count == 10, "\(name), \(algorithm): exactly 10 of 200 admitted")
                #expect(statuses.filter { $0 == .tooManyRequests }.count == 190, "\(name), \(algorithm)")
                #expect(runs.load(ordering: .relaxed) == 10, "\(name), \(algorithm): the handler ran only for admitted requests")
            }
        }
    }

    @Test func headersOnAdmittedAndRefusedResponses() async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let limiter = try Self.limiter(store, limit: 2, legacyHeaders: true)
            let first = try await limiter.respond(to: Self.request(), next: Self.ok)
            #expect(first.head.status == .ok)
            #expect(first.head.headerFields[HTTPField.Name("RateLimit-Policy")!] == "\"default\";q=2;w=86400", "\(name)")
            let rateLimit = try #require(first.head.headerFields[HTTPField.Name("RateLimit")!])
            #expect(rateLimit.hasPrefix("\"default\";r=1;t="), "\(name): \(rateLimit)")
            #expect(first.head.headerFields[HTTPField.Name("X-RateLimit-Limit")!] == "2")
            #expect(first.head.headerFields[HTTPField.Name("X-RateLimit-Remaining")!] == "1")
            _ = try await limiter.respond(to: Self.request(), next: Self.ok)
            let refused = try await limiter.respond(to: Self.request(), next: Self.ok)
            #expect(refused.head.status == .tooManyRequests, "\(name)")
            let retryAfter = try #require(refused.head.headerFields[.retryAfter].flatMap { Int($0) })
            #expect(retryAfter >= 1 && retryAfter <= 86_400, "\(name): Retry-After \(retryAfter)")
            #expect(refused.head.headerFields[HTTPField.Name("RateLimit")!]?.hasPrefix("\"default\";r=0;t=") == true)
            #expect(refused.head.headerFields[HTTPField.Name("X-RateLimit-Remaining")!] == "0")
            // Another client has its own limit; an excluded path is never limited.
            #expect(try await limiter.respond(to: Self.request(peer: "192.0.2.2"), next: Self.ok).head.status == .ok)
            let health = try await limiter.respond(to: Self.request("/health"), next: Self.ok)
            #expect(health.head.status == .ok && health.head.headerFields[HTTPField.Name("RateLimit")!] == nil)
        }
    }

    @Test func draft6HeadersOrNoneCanBeChosen() async throws {
        func limiter(_ headers: RateLimiter.StandardHeaders, legacy: Bool = false) throws -> RateLimiter {
            let policies = try [
                // A token bucket: no window boundary can fall between the requests.
                RateLimitPolicy(name: "burst", rule: RateLimitRule(limit: 2, per: .seconds(10), algorithm: .tokenBucket(burst: 2))),
                RateLimitPolicy(name: "daily", rule: RateLimitRule(limit: 100, per: .seconds(86_400))),
            ]
            return try RateLimiter(
                store: MemoryStore(),
                configuration: .init(policies: policies, identity: .clientAddress(), standardHeaders: headers, legacyHeaders: legacy)
            )
        }
        func field(_ response: StashResponse, _ name: String) -> String? { response.head.headerFields[HTTPField.Name(name)!] }

        let draft6 = try limiter(.draft6)
        let first = try await draft6.respond(to: Self.request(), next: Self.ok)
        #expect(field(first, "RateLimit-Policy") == "2;w=10, 100;w=86400", "a member per policy")
        #expect(field(first, "RateLimit-Limit") == "2" && field(first, "RateLimit-Remaining") == "1", "the tightest policy")
        let reset = try #require(field(first, "RateLimit-Reset").flatMap { Int($0) })
        #expect(reset >= 1 && reset <= 10)
        #expect(field(first, "RateLimit") == nil && field(first, "X-RateLimit-Limit") == nil, "only draft 06's fields")
        _ = try await draft6.respond(to: Self.request(), next: Self.ok)
        let refused = try await draft6.respond(to: Self.request(), next: Self.ok)
        #expect(refused.head.status == .tooManyRequests && field(refused, "RateLimit-Remaining") == "0")
        #expect(refused.head.headerFields[.retryAfter] != nil)

        let none = try await limiter(.none).respond(to: Self.request(), next: Self.ok)
        #expect(none.head.headerFields.filter { $0.name.canonicalName.hasPrefix("ratelimit") }.isEmpty)
        let legacyOnly = try await limiter(.none, legacy: true).respond(to: Self.request(), next: Self.ok)
        #expect(field(legacyOnly, "X-RateLimit-Remaining") == "1" && field(legacyOnly, "RateLimit-Policy") == nil)
        let current = try await limiter(.current).respond(to: Self.request(), next: Self.ok)
        #expect(field(current, "RateLimit-Policy") == "\"burst\";q=2;w=10, \"daily\";q=100;w=86400", "the default")
    }

    @Test func anIPv6ClientIsItsSubnetSoRotatingAddressesDoesNotEscapeTheLimit() async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let limiter = try Self.limiter(store, limit: 2)
            func status(_ peer: String, headers: HTTPFields = [:]) async throws -> HTTPResponse.Status {
                try await limiter.respond(to: Self.request(peer: peer, headers: headers), next: Self.ok).head.status
            }
            // Three addresses of one /56 (in two of its /64s), spelled three ways: one client.
            #expect(try await status("2001:db8:1:2300::1") == .ok, "\(name)")
            #expect(try await status("2001:DB8:1:23ff:ffff::9") == .ok, "\(name)")
            #expect(try await status("2001:db8:1:2300:0:0:0:2") == .tooManyRequests, "\(name): the same /56")
            #expect(try await status("2001:db8:1:2400::1") == .ok, "\(name): the next /56 is another client")
            // An IPv4 client and its IPv4-mapped IPv6 spelling are one client, and IPv4 is never grouped.
            #expect(try await status("192.0.2.44") == .ok)
            #expect(try await status("::ffff:192.0.2.44") == .ok)
            #expect(try await status("::ffff:c000:22c") == .tooManyRequests, "\(name): ::ffff:192.0.2.44 once more")
            #expect(try await status("192.0.2.45") == .ok, "\(name): the next IPv4 address is another client")
        }
    }

    @Test func theIPv6SubnetIsConfigurableAndAppliesToForwardedAddresses() async throws {
        let perLAN = try Self.limiter(MemoryStore(), limit: 1, trustedProxies: ["10.0.0.0/8"], ipv6Subnet: 64)
        func status(_ limiter: RateLimiter, _ peer: String, forwardedFor: String? = nil) async throws -> HTTPResponse.Status {
            let headers: HTTPFields = forwardedFor.map { [.init("X-Forwarded-For")!: $0] } ?? [:]
            return try await limiter.respond(to: Self.request(peer: peer, headers: headers), next: Self.ok).head.status
        }
        #expect(try await status(perLAN, "10.0.0.1", forwardedFor: "2001:db8:0:1::1") == .ok)
        #expect(try await status(perLAN, "10.0.0.1", forwardedFor: "2001:db8:0:1:ffff::1") == .tooManyRequests, "one /64")
        #expect(try await status(perLAN, "10.0.0.1", forwardedFor: "2001:db8:0:2::1") == .ok, "another /64")

        let perAddress = try Self.limiter(MemoryStore(), limit: 1, ipv6Subnet: 128)
        #expect(try await status(perAddress, "2001:db8::1") == .ok)
        #expect(try await status(perAddress, "2001:db8::2") == .ok, "each address its own client")
        #expect(try await status(perAddress, "2001:DB8:0::1") == .tooManyRequests, "2001:db8::1 spelled otherwise")

        // A peer that is not an IP address (a Unix socket's path) is its own client, as it is.
        let grouped = try Self.limiter(MemoryStore(), limit: 1)
        #expect(try await status(grouped, "/run/app.sock") == .ok)
        #expect(try await status(grouped, "/run/app.sock") == .tooManyRequests)

        for length in [0, -1, 129] {
            expectInvalidConfiguration { try ClientIdentity.clientAddress(ipv6Subnet: length) }
        }
    }

    @Test func forwardedAddressesCountOnlyFromTrustedProxies() async throws {
        let store = MemoryStore()
        let limiter = try Self.limiter(store, limit: 1, trustedProxies: ["10.0.0.0/8", "::1"])
        let forwarded: HTTPFields = [.init("X-Forwarded-For")!: "203.0.113.9"]
        // From an untrusted peer the header is ignored: every spoofed address shares the peer's limit.
        #expect(try await limiter.respond(to: Self.request(peer: "192.0.2.7", headers: forwarded), next: Self.ok).head.status == .ok)
        let spoofed: HTTPFields = [.init("X-Forwarded-For")!: "198.51.100.1"]
        #expect(try await limiter.respond(to: Self.request(peer: "192.0.2.7", headers: spoofed), next: Self.ok).head.status == .tooManyRequests)
        // Through a trusted proxy the client is the rightmost untrusted address; what a client prepends is ignored.
        let viaProxy: HTTPFields = [.init("X-Forwarded-For")!: "1.1.1.1, 203.0.113.50, 10.0.0.2"]
        #expect(try await limiter.respond(to: Self.request(peer: "10.0.0.1", headers: viaProxy), next: Self.ok).head.status == .ok)
        let prepended: HTTPFields = [.init("X-Forwarded-For")!: "8.8.8.8, 203.0.113.50"]
        #expect(
            try await limiter.respond(to: Self.request(peer: "10.0.0.1", headers: prepended), next: Self.ok).head.status == .tooManyRequests,
            "the same client behind the proxy, whatever it prepends"
        )
        // RFC 7239 Forwarded, with quoted IPv6 and ports, wins over X-Forwarded-For.
        let rfc: HTTPFields = [
            .init("Forwarded")!: "for=192.0.2.60;proto=http, for=\"[2001:db8:cafe::17]:4711\"",
            .init("X-Forwarded-For")!: "203.0.113.50",
        ]
        #expect(try await limiter.respond(to: Self.request(peer: "::1", headers: rfc), next: Self.ok).head.status == .ok)
        #expect(try await limiter.respond(to: Self.request(peer: "::1", headers: rfc), next: Self.ok).head.status == .tooManyRequests)
        // Garbage stops the walk at the proxy that passed it on: it cannot pick an identity.
        for garbage in ["not an address", "unknown", "300.1.1.1", "\u{0}"] {
            let headers: HTTPFields = [.init("X-Forwarded-For")!: "\(garbage), 10.0.0.3"]
            _ = try await limiter.respond(to: Self.request(peer: "10.0.0.1", headers: headers), next: Self.ok)
        }
        let afterGarbage: HTTPFields = [.init("X-Forwarded-For")!: "junk, 10.0.0.3"]
        #expect(
            try await limiter.respond(to: Self.request(peer: "10.0.0.1", headers: afterGarbage), next: Self.ok).head.status == .tooManyRequests,
            "garbage counts as the last trusted proxy, one shared identity"
        )
    }

    @Test func failOpenOrClosedWhenTheStoreIsDown() async throws {
        // A real Redis store with nothing listening on its port.
        var configuration = try RedisConfiguration(url: "redis://127.0.0.1:1/0")
        configuration.connectTimeout = .seconds(2)
        let down = try RedisStore(configuration: configuration)
        let rule = try RateLimitRule(limit: 1, per: .seconds(60))
        for (mode, expected) in [(RateLimiter.FailureMode.open, HTTPResponse.Status.ok), (.closed, .serviceUnavailable)] {
            let limiter = RateLimiter(
                store: down,
                configuration: try .init(policies: [RateLimitPolicy(rule: rule)], identity: .clientAddress(), failureMode: mode)
            )
            let response = try await limiter.respond(to: Self.request(), next: Self.ok)
            #expect(response.head.status == expected, "fail \(mode)")
        }
    }

    @Test func refusedClientsAreRefusedAgainWithoutAStoreRoundTripUntilTheirWaitEnds() async throws {
        for (name, base) in try TestStores.all() {
            try await base.deleteAll()
            let store = CountingStore(base)
            let clock = ManualClock()
            // A token bucket: its wait after the burst is half a minute wherever the wall clock is (a fixed window's
            // ends with the window, which may be a moment away).
            let policies = [try RateLimitPolicy(rule: RateLimitRule(limit: 2, per: .seconds(60), algorithm: .tokenBucket(burst: 2)))]
            let configuration = try RateLimiter.Configuration(policies: policies, identity: .clientAddress(), refusalMemory: 100)
            let limiter = RateLimiter(store: store, configuration: configuration, clock: clock)
            func send(_ peer: String = "192.0.2.1") async throws -> StashResponse {
                try await limiter.respond(to: Self.request(peer: peer), next: Self.ok)
            }
            #expect(try await send().head.status == .ok)
            #expect(try await send().head.status == .ok)
            let refused = try await send()
            #expect(refused.head.status == .tooManyRequests, "\(name)")
            let wait = try #require(refused.head.headerFields[.retryAfter].flatMap { Int($0) })
            #expect(wait > 20, "\(name): \(wait) s")
            #expect(store.counts.snapshot.writes == 3, "\(name)")

            // Hammering past the limit costs the store nothing until the wait ends; the answers stay complete.
            clock.advance(by: .seconds(1))
            for _ in 0..<10 {
                let again = try await send()
                #expect(again.head.status == .tooManyRequests, "\(name)")
                let retryAfter = try #require(again.head.headerFields[.retryAfter].flatMap { Int($0) })
                #expect(retryAfter >= 1 && retryAfter <= wait, "\(name): the wait, less the time since")
                #expect(again.head.headerFields[HTTPField.Name("RateLimit")!]?.hasPrefix("\"default\";r=0;t=") == true, "\(name)")
            }
            #expect(store.counts.snapshot.writes == 3, "\(name): no store call for a remembered refusal")
            #expect(try await send("192.0.2.2").head.status == .ok, "\(name): another client asks the store")
            #expect(store.counts.snapshot.writes == 4, "\(name)")

            // Once the wait is over, the store decides again.
            clock.advance(by: .seconds(wait))
            _ = try await send()
            #expect(store.counts.snapshot.writes == 5, "\(name)")
        }
        expectInvalidConfiguration {
            try RateLimiter.Configuration(
                policies: [RateLimitPolicy(rule: RateLimitRule(limit: 1, per: .seconds(1)))],
                identity: .clientAddress(),
                refusalMemory: -1
            )
        }
    }

    @Test func theRefusalMemoryIsBounded() {
        let refusals = RateLimitRefusals(capacity: 3)
        let now = WallClock().now
        let refused = RateLimitDecision(isAllowed: false, limit: 1, remaining: 0, resetIn: .seconds(60), retryAfter: .seconds(60))
        for index in 0..<10 { refusals.remember("client \(index)", refused, at: now) }
        #expect(refusals.count == 3)
        #expect(refusals.refusal(of: "client 9", at: now.advanced(by: .seconds(10)))?.retryAfter == .seconds(50), "the newest is kept")
        #expect(refusals.refusal(of: "client 9", at: now.advanced(by: .seconds(60))) == nil, "and forgotten when its wait ends")
        let admitted = RateLimitDecision(isAllowed: true, limit: 1, remaining: 0, resetIn: .seconds(60), retryAfter: nil)
        refusals.remember("admitted", admitted, at: now)
        #expect(refusals.refusal(of: "admitted", at: now) == nil, "only refusals with a wait are remembered")
    }

    @Test func anInsuredLimiterDecidesInMemoryWhileTheStoreFailsAndGoesBackWhenItAnswers() async throws {
        let store = CountingStore(MemoryStore())
        // A token bucket: a fixed window could end between two requests (a down Redis takes seconds per request),
        // and admit the third.
        let policies = [try RateLimitPolicy(rule: RateLimitRule(limit: 2, per: .seconds(60), algorithm: .tokenBucket(burst: 2)))]
        let limiter = RateLimiter(store: store, configuration: try .init(policies: policies, identity: .clientAddress(), failureMode: .insurance))
        let insurance = try #require(limiter.insurance)
        store.counts.isFailing.store(true, ordering: .relaxed)
        #expect(try await limiter.respond(to: Self.request(), next: Self.ok).head.status == .ok)
        #expect(insurance.isInsuring)
        let second = try await limiter.respond(to: Self.request(), next: Self.ok)
        #expect(second.head.status == .ok && second.head.headerFields[HTTPField.Name("RateLimit")!]?.hasPrefix("\"default\";r=0;") == true)
        #expect(try await limiter.respond(to: Self.request(), next: Self.ok).head.status == .tooManyRequests, "the limit holds in memory")

        store.counts.isFailing.store(false, ordering: .relaxed)
        #expect(try await limiter.respond(to: Self.request(), next: Self.ok).head.status == .ok, "the store decides again: its own count")
        #expect(!insurance.isInsuring)

        // A Redis with nothing listening: the insurance limiter holds the limit all the same.
        var configuration = try RedisConfiguration(url: "redis://127.0.0.1:1/0")
        configuration.connectTimeout = .seconds(2)
        let down = RateLimiter(
            store: try RedisStore(configuration: configuration),
            configuration: try .init(policies: policies, identity: .clientAddress(), failureMode: .insurance)
        )
        let statuses = [
            try await down.respond(to: Self.request(), next: Self.ok).head.status,
            try await down.respond(to: Self.request(), next: Self.ok).head.status,
            try await down.respond(to: Self.request(), next: Self.ok).head.status,
        ]
        #expect(statuses == [.ok, .ok, .tooManyRequests])
    }

    @Test func forwardedFieldsFromAPeerThatIsNotATrustedProxyAreWarnedAboutOnce() async throws {
        let logs = CapturedLogs()
        let logger = Logger(label: "test") { _ in CapturedLogs.Handler(logs: logs) }
        let policies = [try RateLimitPolicy(rule: RateLimitRule(limit: 100, per: .seconds(60)))]
        let limiter = RateLimiter(
            store: MemoryStore(),
            configuration: try .init(policies: policies, identity: .clientAddress(trustedProxies: ["10.0.0.0/8"]), logger: logger)
        )
        let forwarded: HTTPFields = [.init("X-Forwarded-For")!: "203.0.113.9"]
        _ = try await limiter.respond(to: Self.request(peer: "10.0.0.1", headers: forwarded), next: Self.ok)
        _ = try await limiter.respond(to: Self.request(peer: "192.0.2.50"), next: Self.ok)
        #expect(logs.warnings.isEmpty, "through a trusted proxy, or without the field: nothing to say")
        for _ in 0..<5 {
            _ = try await limiter.respond(to: Self.request(peer: "192.0.2.50", headers: forwarded), next: Self.ok)
        }
        let warnings = logs.warnings
        #expect(warnings.count == 1, "once, however many requests show it")
        #expect(warnings.first?.contains("192.0.2.50") == true && warnings.first?.contains("trustedProxies") == true, "\(warnings)")
    }

    @Test func perRoutePoliciesSkipAndCustomIdentity() async throws {
        let store = MemoryStore()
        let limiter = RateLimiter(
            store: store,
            configuration: try .init(
                policies: [
                    RateLimitPolicy(name: "global", rule: RateLimitRule(limit: 3, per: .seconds(60))),
                    .route(["/login"], name: "login", rule: RateLimitRule(limit: 1, per: .seconds(60))),
                ],
                identity: .custom { $0.head.headerFields[.init("X-Api-Key")!] },
                skip: { $0.head.method == .options }
            )
        )
        let key: HTTPFields = [.init("X-Api-Key")!: "key-1"]
        let login = try await limiter.respond(to: Self.request("/login?next=/", headers: key), next: Self.ok)
        #expect(login.head.status == .ok)
        #expect(login.head.headerFields[HTTPField.Name("RateLimit-Policy")!] == "\"global\";q=3;w=60, \"login\";q=1;w=60")
        #expect(try await limiter.respond(to: Self.request("/login", headers: key), next: Self.ok).head.status == .tooManyRequests)
        #expect(try await limiter.respond(to: Self.request("/other", headers: key), next: Self.ok).head.status == .ok)
        // Another key is another client, whatever its address.
        #expect(try await limiter.respond(to: Self.request("/login", headers: [.init("X-Api-Key")!: "key-2"]), next: Self.ok).head.status == .ok)
        var options = Self.request("/login", headers: key)
        options.head.method = .options
        #expect(try await limiter.respond(to: options, next: Self.ok).head.status == .ok, "skipped")
    }

    @Test func invalidConfigurationIsATypedError() throws {
        let rule = try RateLimitRule(limit: 1, per: .seconds(1))
        expectInvalidConfiguration { try ClientIdentity.clientAddress(trustedProxies: ["10.0.0.0/33"]) }
        expectInvalidConfiguration { try ClientIdentity.clientAddress(trustedProxies: ["proxy.local"]) }
        expectInvalidConfiguration { try RateLimitPolicy(name: "has space", rule: rule) }
        expectInvalidConfiguration { try RateLimitPolicy(name: "\"quoted\"", rule: rule) }
        expectInvalidConfiguration {
            try RateLimiter.Configuration(policies: [RateLimitPolicy(rule: rule), RateLimitPolicy(rule: rule)], identity: .clientAddress())
        }
        expectInvalidConfiguration { try RateLimiter.Configuration(policies: [], identity: .clientAddress()) }
    }
}
