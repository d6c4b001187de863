import HTTPTypes
import NIOCore
import Stash
import StashTestSupport
import StashTesting
import Synchronization
import Testing

@testable import StashMiddleware

@Suite struct ResponseCacheStaleTests {
    @Test func aStaleResponseIsServedWhileOneRequestRevalidatesIt() async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let clock = ManualClock()
            let cache = CacheTest.cache(store, clock: clock) { configuration in
                configuration.lifetime = .seconds(10)
                configuration.staleWhileRevalidate = .seconds(30)
            }
            let revalidating = Atomic<Bool>(false)
            let origin = CountingOrigin { _, run in
                if run == 2 {
                    // While this request revalidates, others are served the stale response.
                    revalidating.store(true, ordering: .sequentiallyConsistent)
                    let deadline = ContinuousClock.now + .seconds(10)
                    while revalidating.load(ordering: .sequentiallyConsistent), ContinuousClock.now < deadline { await Task.yield() }
                }
                return StashResponse(status: .ok, body: "run \(run)")
            }
            _ = try await cache.respond(to: CacheTest.request(), next: origin.handler)
            clock.advance(by: .milliseconds(12_500))

            try await withThrowingTaskGroup(of: StashResponse.self) { group in
                group.addTask { try await cache.respond(to: CacheTest.request(), next: origin.handler) }
                let deadline = ContinuousClock.now + .seconds(10)
                while !revalidating.load(ordering: .sequentiallyConsistent) {
                    try #require(ContinuousClock.now < deadline)
                    await Task.yield()
                }
                for _ in 0..<5 {
                    let stale = try await cache.respond(to: CacheTest.request(), next: origin.handler)
                    #expect(CacheTest.body(stale) == "run 1", "\(name)")
                    #expect(CacheTest.status(stale) == "Stash; hit; ttl=-3", "\(name)")
                    #expect(stale.head.headerFields[.age] == "12", "\(name)")
                }
                revalidating.store(false, ordering: .sequentiallyConsistent)
                let revalidated = try await group.next()!
                #expect(CacheTest.body(revalidated) == "run 2", "\(name): the revalidating request is served fresh")
                #expect(CacheTest.status(revalidated) == "Stash; fwd=stale; stored", "\(name)")
            }
            #expect(origin.count == 2, "\(name): one revalidation")
            let fresh = try await cache.respond(to: CacheTest.request(), next: origin.handler)
            #expect(CacheTest.body(fresh) == "run 2" && CacheTest.status(fresh) == "Stash; hit; ttl=10", "\(name)")

            // Past the grace period a stale response is a miss.
            clock.advance(by: .seconds(41))
            let expired = try await cache.respond(to: CacheTest.request(), next: origin.handler)
            #expect(CacheTest.body(expired) == "run 3" && CacheTest.status(expired) == "Stash; fwd=stale; stored", "\(name)")
        }
    }

    @Test func aRevalidationThatMayNotBeStoredRemovesTheStaleResponse() async throws {
        let clock = ManualClock()
        let cache = CacheTest.cache(MemoryStore(), clock: clock) { configuration in
            configuration.lifetime = .seconds(10)
            configuration.staleWhileRevalidate = .seconds(30)
        }
        let origin = CountingOrigin { _, run in
            StashResponse(status: .ok, headerFields: run == 1 ? [:] : [.setCookie: "id=\(run)"], body: "run \(run)")
        }
        _ = try await cache.respond(to: CacheTest.request(), next: origin.handler)
        clock.advance(by: .seconds(11))
        let revalidated = try await cache.respond(to: CacheTest.request(), next: origin.handler)
        #expect(CacheTest.status(revalidated) == "Stash; fwd=stale; detail=set-cookie")
        let after = try await cache.respond(to: CacheTest.request(), next: origin.handler)
        #expect(CacheTest.body(after) == "run 3" && CacheTest.status(after) == "Stash; fwd=uri-miss; detail=set-cookie")
    }
}
