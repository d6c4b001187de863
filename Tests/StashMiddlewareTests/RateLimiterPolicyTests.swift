import HTTPTypes
import NIOCore
import Stash
import StashTestSupport
import StashTesting
import Synchronization
import Testing

@testable import StashMiddleware

/// What a policy says beyond its limit: what a request costs, which rule applies to it, which responses count, and
/// blocks and penalties — on every store, and across two instances sharing one.
@Suite struct RateLimiterPolicyTests {
    static let day: Duration = .seconds(86_400)

    static func request(_ path: String = "/upload", peer: String = "192.0.2.1", headers: HTTPFields = [:]) -> StashRequest {
        StashRequest(head: HTTPRequest(method: .post, scheme: "http", authority: "localhost", path: path, headerFields: headers), peerAddress: peer)
    }

    static func respond(_ status: HTTPResponse.Status) -> StashHandler {
        { _ in StashResponse(status: status, body: "") }
    }

    static func limiter(_ store: any Store, _ policies: RateLimitPolicy...) throws -> RateLimiter {
        RateLimiter(store: store, configuration: try .init(policies: policies, identity: .clientAddress()))
    }

    /// The cost a request names in a test header.
    static let costHeader = HTTPField.Name("X-Cost")!
    static func cost(_ request: StashRequest) -> Int { Int(request.head.headerFields[Self.costHeader] ?? "1") ?? 1 }

    @Test func weightedRequestsFromTwoInstancesAdmitExactlyTheLimit() async throws {
        for (name, store) in try TestStores.all() {
            for algorithm in [RateLimitRule.Algorithm.fixedWindow, .slidingWindow, .tokenBucket(burst: 30)] {
                try await store.deleteAll()
                let policy = try RateLimitPolicy(rule: RateLimitRule(limit: 30, per: Self.day, algorithm: algorithm), cost: Self.cost)
                let instances = [try Self.limiter(store, policy), try Self.limiter(store, policy)]
                let ran = Atomic<Int>(0)
                let handler: StashHandler = { _ in
                    ran.add(1, ordering: .relaxed)
                    return StashResponse(status: .ok, body: "")
                }
                let admitted = try await withThrowingTaskGroup(of: Int.self) { group in
                    for index in 0..<60 {
                        let limiter = instances[index % 2]
                        group.addTask {
                            let response = try await limiter.respond(to: Self.request(headers: [Self.costHeader: "3"]), next: handler)
                            return response.head.status == .ok ? 1 : 0
                        }
                    }
                    return try await group.reduce(0, +)
                }
                #expect(admitted == 10, "\(name), \(algorithm): 60 requests of 3 against 30 admit 10, not \(admitted)")
                #expect(ran.load(ordering: .relaxed) == 10)
                let free = try await instances[0].respond(to: Self.request(headers: [Self.costHeader: "0"]), next: Self.respond(.ok))
                #expect(free.head.status == .ok, "\(name): a request that costs nothing is not limited")
                #expect(free.head.headerFields[HTTPField.Name("RateLimit")!] == nil)
                let huge = try await instances[0].respond(to: Self.request("/other", headers: [Self.costHeader: "31"]), next: Self.respond(.ok))
                #expect(huge.head.status == .tooManyRequests, "\(name): a request costing more than the limit is never admitted")
            }
        }
    }

    @Test func aRuleChosenPerRequestLimitsEachPlanByItsOwnLimit() async throws {
        let free = try RateLimitRule(limit: 2, per: Self.day)
        let pro = try RateLimitRule(limit: 5, per: Self.day)
        let policy = try RateLimitPolicy(
            rule: free,
            selectRule: { request in request.head.headerFields[.authorization] == "Bearer pro" ? pro : nil }
        )
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let limiter = try Self.limiter(store, policy)
            var freeStatuses: [HTTPResponse.Status] = []
            for _ in 0..<3 {
                freeStatuses.append(try await limiter.respond(to: Self.request(peer: "192.0.2.1"), next: Self.respond(.ok)).head.status)
            }
            #expect(freeStatuses == [.ok, .ok, .tooManyRequests], "\(name)")
            var proResponses: [StashResponse] = []
            for _ in 0..<6 {
                proResponses.append(
                    try await limiter.respond(to: Self.request(peer: "192.0.2.2", headers: [.authorization: "Bearer pro"]), next: Self.respond(.ok))
                )
            }
            #expect(proResponses.map(\.head.status) == Array(repeating: .ok, count: 5) + [.tooManyRequests], "\(name)")
            #expect(proResponses[0].head.headerFields[HTTPField.Name("RateLimit-Policy")!] == "\"default\";q=5;w=86400", "the chosen rule's limit")
        }
    }

    @Test func onlyFailedLoginsCountAndASuccessGivesItsPointBack() async throws {
        let policy = try RateLimitPolicy(name: "login", rule: RateLimitRule(limit: 3, per: Self.day), counting: .onlyFailures)
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let limiter = try Self.limiter(store, policy)
            // Any number of good logins.
            for _ in 0..<5 {
                #expect(try await limiter.respond(to: Self.request(), next: Self.respond(.ok)).head.status == .ok, "\(name)")
            }
            // Three failures (one a handler that throws), then refused, even for the right password.
            #expect(try await limiter.respond(to: Self.request(), next: Self.respond(.unauthorized)).head.status == .unauthorized)
            await #expect(throws: CancellationError.self) {
                try await limiter.respond(to: Self.request(), next: { _ in throw CancellationError() })
            }
            #expect(try await limiter.respond(to: Self.request(), next: Self.respond(.unauthorized)).head.status == .unauthorized)
            #expect(try await limiter.respond(to: Self.request(), next: Self.respond(.ok)).head.status == .tooManyRequests, "\(name)")
        }
        let successes = try RateLimitPolicy(rule: RateLimitRule(limit: 2, per: Self.day), counting: .onlySuccesses)
        let created = try RateLimitPolicy(rule: RateLimitRule(limit: 2, per: Self.day), counting: .when { $0.status == .created })
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let limiter = try Self.limiter(store, successes)
            for _ in 0..<4 { _ = try await limiter.respond(to: Self.request(), next: Self.respond(.notFound)) }
            await #expect(throws: CancellationError.self) {
                try await limiter.respond(to: Self.request(), next: { _ in throw CancellationError() })
            }
            #expect(try await limiter.respond(to: Self.request(), next: Self.respond(.ok)).head.status == .ok, "\(name): failures did not count")
            #expect(try await limiter.respond(to: Self.request(), next: Self.respond(.ok)).head.status == .ok)
            #expect(try await limiter.respond(to: Self.request(), next: Self.respond(.notFound)).head.status == .tooManyRequests)

            try await store.deleteAll()
            let predicate = try Self.limiter(store, created)
            for _ in 0..<3 { _ = try await predicate.respond(to: Self.request(), next: Self.respond(.ok)) }
            _ = try await predicate.respond(to: Self.request(), next: Self.respond(.created))
            _ = try await predicate.respond(to: Self.request(), next: Self.respond(.created))
            #expect(try await predicate.respond(to: Self.request(), next: Self.respond(.ok)).head.status == .tooManyRequests, "\(name)")
        }
    }

    @Test func aBlockingPolicyRefusesPastItsWindowOnEveryInstance() async throws {
        let policy = try RateLimitPolicy(rule: RateLimitRule(limit: 1, per: .seconds(60), algorithm: .tokenBucket(burst: 1), blockingFor: Self.day))
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let (first, second) = (try Self.limiter(store, policy), try Self.limiter(store, policy))
            #expect(try await first.respond(to: Self.request(), next: Self.respond(.ok)).head.status == .ok)
            let refused = try await second.respond(to: Self.request(), next: Self.respond(.ok))
            #expect(refused.head.status == .tooManyRequests, "\(name)")
            let retryAfter = try #require(refused.head.headerFields[.retryAfter].flatMap { Int($0) })
            #expect(retryAfter > 86_000, "\(name): blocked for the day, not the minute: \(retryAfter)")
            #expect(try await first.respond(to: Self.request(), next: Self.respond(.ok)).head.status == .tooManyRequests)
        }
    }

    @Test func anApplicationPenalizesRewardsAndBlocksAClient() async throws {
        let policy = try RateLimitPolicy(rule: RateLimitRule(limit: 5, per: Self.day))
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let (first, second) = (try Self.limiter(store, policy), try Self.limiter(store, policy))
            let client = first.identity(of: Self.request())
            #expect(client == "192.0.2.1")
            let penalized = try await first.adjust(client, policy: "default", by: 5)
            #expect(!penalized.isAllowed, "\(name)")
            #expect(try await second.respond(to: Self.request(), next: Self.respond(.ok)).head.status == .tooManyRequests, "\(name)")
            _ = try await second.adjust(client, policy: "default", by: -2)
            #expect(try await first.respond(to: Self.request(), next: Self.respond(.ok)).head.status == .ok, "\(name): rewarded")

            let blocked = try await second.block(client, policy: "default", for: .seconds(3600))
            #expect(!blocked.isAllowed && blocked.retryAfter == .seconds(3600))
            #expect(try await first.respond(to: Self.request(), next: Self.respond(.ok)).head.status == .tooManyRequests, "\(name)")
            #expect(try await first.respond(to: Self.request(peer: "192.0.2.9"), next: Self.respond(.ok)).head.status == .ok, "others are not")
        }
        let limiter = try Self.limiter(MemoryStore(), policy)
        await #expect(throws: StashMiddlewareError.self) { try await limiter.adjust("client", policy: "missing", by: 1) }
        await expectStoreError([.invalidConfiguration], "a penalty beyond the limit") { try await limiter.adjust("client", policy: "default", by: 6) }
        await expectStoreError([.invalidConfiguration], "a block of no time") { try await limiter.block("client", policy: "default", for: .zero) }
    }

    @Test func aRewardLiftsARefusalThisInstanceRemembered() async throws {
        let store = CountingStore(MemoryStore())
        let limiter = RateLimiter(
            store: store,
            configuration: try .init(
                policies: [RateLimitPolicy(rule: RateLimitRule(limit: 1, per: Self.day))],
                identity: .clientAddress(),
                refusalMemory: 10
            )
        )
        _ = try await limiter.respond(to: Self.request(), next: Self.respond(.ok))
        #expect(try await limiter.respond(to: Self.request(), next: Self.respond(.ok)).head.status == .tooManyRequests)
        let writes = store.counts.snapshot.writes
        #expect(try await limiter.respond(to: Self.request(), next: Self.respond(.ok)).head.status == .tooManyRequests)
        #expect(store.counts.snapshot.writes == writes, "the refusal is remembered")
        _ = try await limiter.adjust("192.0.2.1", policy: "default", by: -1)
        #expect(try await limiter.respond(to: Self.request(), next: Self.respond(.ok)).head.status == .ok, "the reward lifts it here at once")
    }
}
