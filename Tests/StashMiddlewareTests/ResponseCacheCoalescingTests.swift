import HTTPTypes
import NIOCore
import Stash
import StashTestSupport
import StashTesting
import Testing

@testable import StashMiddleware

@Suite struct ResponseCacheCoalescingTests {
    struct Failure: Error {}

    /// Waits (yielding, for at most 10 s) until `count` requests wait for the leader of `key`.
    static func waitForFollowers(_ cache: ResponseCache, key: String, count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while cache.coalescer.waiterCount(for: key) < count {
            try #require(ContinuousClock.now < deadline, "only \(cache.coalescer.waiterCount(for: key)) of \(count) followers arrived")
            await Task.yield()
        }
    }

    /// Runs `requests` concurrent requests through the cache; the handler holds its first run until the others
    /// all wait for it.
    static func concurrentMisses(
        _ cache: ResponseCache,
        requests: Int,
        headers: @escaping @Sendable (Int) -> HTTPFields = { _ in [:] },
        answer: @escaping @Sendable (StashRequest, Int) async throws -> StashResponse
    ) async throws -> (origin: CountingOrigin, responses: [StashResponse?]) {
        let origin = CountingOrigin { request, run in
            if run == 1 { try await Self.waitForFollowers(cache, key: "GET /page", count: requests - 1) }
            return try await answer(request, run)
        }
        let responses = await withTaskGroup(of: StashResponse?.self) { group in
            for index in 0..<requests {
                group.addTask { try? await cache.respond(to: CacheTest.request(headers: headers(index)), next: origin.handler) }
            }
            var responses: [StashResponse?] = []
            for await response in group { responses.append(response) }
            return responses
        }
        return (origin, responses)
    }

    @Test func aHundredConcurrentMissesRunTheHandlerOnce() async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let cache = CacheTest.cache(store)
            let (origin, responses) = try await Self.concurrentMisses(cache, requests: 100, answer: CountingOrigin.plain)
            #expect(origin.count == 1, "\(name)")
            #expect(responses.allSatisfy { $0.map(CacheTest.body) == "run 1" }, "\(name)")
            let statuses = responses.compactMap { $0.flatMap(CacheTest.status) }
            #expect(statuses.filter { $0 == "Stash; fwd=uri-miss; stored" }.count == 1, "\(name)")
            #expect(statuses.filter { $0 == "Stash; fwd=uri-miss; collapsed" }.count == 99, "\(name)")
        }
    }

    @Test func followersRunTheirOwnHandlerWhenTheLeadersResponseIsNotShareable() async throws {
        let cases: [(String, @Sendable (StashRequest, Int) async throws -> StashResponse)] = [
            ("set-cookie", { _, run in StashResponse(status: .ok, headerFields: [.setCookie: "id=\(run)"], body: "run \(run)") }),
            (
                "streamed",
                { _, run in StashResponse(head: HTTPResponse(status: .ok, headerFields: [.init("X-Run")!: "\(run)"]), isBodyStreamed: true) }
            ),
            ("throws", { _, run in if run == 1 { throw Failure() } else { StashResponse(status: .ok, body: "run \(run)") } }),
        ]
        for (label, answer) in cases {
            let cache = CacheTest.cache(MemoryStore())
            let (origin, responses) = try await Self.concurrentMisses(cache, requests: 10, answer: answer)
            let answered = responses.compactMap { $0 }
            #expect(origin.count == 10, "\(label): every request ran its own handler")
            #expect(answered.count == (label == "throws" ? 9 : 10), "\(label)")
            #expect(Set(answered.compactMap { $0.head.headerFields[.setCookie] }).count == (label == "set-cookie" ? 10 : 0), "\(label)")
            #expect(
                answered.filter { CacheTest.status($0)?.hasSuffix("; collapsed=?0; detail=\(label)") == true }.count == (label == "throws" ? 0 : 9),
                "\(label)"
            )
            #expect(
                answered.filter { CacheTest.status($0) == "Stash; fwd=uri-miss; collapsed=?0; stored" }.count == (label == "throws" ? 9 : 0),
                "\(label)"
            )
        }
    }

    @Test func followersOfAnotherVariantRunTheirOwnHandler() async throws {
        let cache = CacheTest.cache(MemoryStore())
        let (origin, responses) = try await Self.concurrentMisses(
            cache,
            requests: 20,
            headers: { [.acceptLanguage: $0 % 2 == 0 ? "en" : "fr"] },
            answer: { request, run in
                StashResponse(status: .ok, headerFields: [.vary: "Accept-Language"], body: request.head.headerFields[.acceptLanguage]! + " \(run)")
            }
        )
        let bodies = responses.compactMap { $0.map(CacheTest.body) }
        #expect(bodies.count == 20)
        #expect(bodies.filter { $0.hasPrefix("en") }.count == 10 && bodies.filter { $0.hasPrefix("fr") }.count == 10, "each got its language")
        let leaderLanguage = try #require(bodies.first { $0.hasSuffix(" 1") }).prefix(2)
        #expect(bodies.filter { $0 == "\(leaderLanguage) 1" }.count == 10, "the leader's variant was shared with its own language only")
        #expect(origin.count == 11)
    }

    @Test func aCancelledFollowerStopsWaitingAndTheOthersAreServed() async throws {
        let cache = CacheTest.cache(MemoryStore())
        let origin = CountingOrigin { _, run in
            if run == 1 { try await Self.waitForFollowers(cache, key: "GET /page", count: 2) }
            return StashResponse(status: .ok, body: "run \(run)")
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            let leader = Task { try await cache.respond(to: CacheTest.request(), next: origin.handler) }
            try await Self.waitUntilLeading(cache)
            let cancelled = Task { try await cache.respond(to: CacheTest.request(), next: origin.handler) }
            try await Self.waitForFollowers(cache, key: "GET /page", count: 1)
            cancelled.cancel()
            await #expect(throws: CancellationError.self) { try await cancelled.value }
            #expect(cache.coalescer.waiterCount(for: "GET /page") == 0, "the cancelled follower left the table")
            group.addTask {
                let response = try await cache.respond(to: CacheTest.request(), next: origin.handler)
                #expect(CacheTest.body(response) == "run 1")
            }
            group.addTask {
                let response = try await cache.respond(to: CacheTest.request(), next: origin.handler)
                #expect(CacheTest.body(response) == "run 1")
            }
            #expect(CacheTest.body(try await leader.value) == "run 1")
            try await group.waitForAll()
        }
        #expect(origin.count == 1)
    }

    @Test func whenTheLeaderIsCancelledItsFollowersRunTheirOwnHandler() async throws {
        let cache = CacheTest.cache(MemoryStore())
        let origin = CountingOrigin { _, run in
            // The first run waits until cancelled (at most 30 s).
            if run == 1 { try await Task.sleep(for: .seconds(30)) }
            return StashResponse(status: .ok, body: "run \(run)")
        }
        let leader = Task { try await cache.respond(to: CacheTest.request(), next: origin.handler) }
        try await Self.waitUntilLeading(cache)
        let follower = Task { try await cache.respond(to: CacheTest.request(), next: origin.handler) }
        try await Self.waitForFollowers(cache, key: "GET /page", count: 1)
        leader.cancel()
        await #expect(throws: CancellationError.self) { try await leader.value }
        let response = try await follower.value
        #expect(CacheTest.body(response) == "run 2")
        #expect(CacheTest.status(response) == "Stash; fwd=uri-miss; collapsed=?0; stored")
        #expect(!cache.coalescer.isInFlight("GET /page"))
        let hit = try await cache.respond(to: CacheTest.request(), next: origin.handler)
        #expect(CacheTest.body(hit) == "run 2" && origin.count == 2)
    }

    /// Waits until the first request leads the flight of the default key (its handler is running).
    static func waitUntilLeading(_ cache: ResponseCache) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !cache.coalescer.isInFlight("GET /page") {
            try #require(ContinuousClock.now < deadline)
            await Task.yield()
        }
    }
}
