import HTTPTypes
import NIOCore
import Stash
import StashMiddleware
import StashTestSupport
import StashTesting
import Testing

@Suite struct ResponseCacheTests {
    @Test func aStoredResponseIsReplayedByteForByteAndTheHandlerRunsOnce() async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let clock = ManualClock()
            let cache = CacheTest.cache(store, clock: clock)
            let origin = CountingOrigin { _, run in
                var fields: HTTPFields = [.contentType: "application/json; charset=utf-8", .eTag: "\"v1\""]
                fields.append(HTTPField(name: HTTPField.Name("X-Trace")!, value: "a"))
                fields.append(HTTPField(name: HTTPField.Name("X-Trace")!, value: "b \u{e9}"))
                fields.append(HTTPField(name: .connection, value: "close"))
                let body = ByteBuffer(bytes: [0, 1, 2, 255, 254] + Array("run \(run)".utf8))
                return StashResponse(head: HTTPResponse(status: .init(code: 203, reasonPhrase: "Fine Indeed"), headerFields: fields), body: body)
            }
            let first = try await cache.respond(to: CacheTest.request("/a?b=2&a=1"), next: origin.handler)
            #expect(CacheTest.status(first) == "Stash; fwd=uri-miss; stored", "\(name)")
            #expect(first.head.headerFields[.age] == nil, "\(name): a miss has no Age")

            clock.advance(by: .milliseconds(12_500))
            // The query's order does not matter.
            let second = try await cache.respond(to: CacheTest.request("/a?a=1&b=2"), next: origin.handler)
            #expect(origin.count == 1, "\(name)")
            #expect(second.head.status.code == 203 && second.head.status.reasonPhrase == "Fine Indeed", "\(name)")
            #expect(second.body == first.body, "\(name)")
            var expected = first.head.headerFields.filter { $0.name != .cacheStatus && $0.name != .connection }
            expected.append(HTTPField(name: .age, value: "12"))
            expected.append(HTTPField(name: .cacheStatus, value: "Stash; hit; ttl=47"))
            #expect(second.head.headerFields.map { $0 } == expected.map { $0 }, "\(name): the same fields in the same order, plus Age")
        }
    }

    @Test func aResponseExpiresAfterItsLifetimeOnTheCachesClock() async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let clock = ManualClock()
            // Long enough that the store's own expiry (on real time) never ends the entry while the test runs on a
            // loaded machine: freshness here is the cache's, on its manual clock.
            let cache = CacheTest.cache(store, clock: clock) { $0.routeLifetimes = ["/short": .seconds(600), "/forever": .forever] }
            let origin = CountingOrigin()
            _ = try await cache.respond(to: CacheTest.request("/short"), next: origin.handler)
            _ = try await cache.respond(to: CacheTest.request("/forever"), next: origin.handler)
            clock.advance(by: .milliseconds(599_999))
            let fresh = try await cache.respond(to: CacheTest.request("/short"), next: origin.handler)
            #expect(CacheTest.status(fresh) == "Stash; hit; ttl=0", "\(name)")
            #expect(origin.count == 2, "\(name)")
            clock.advance(by: .milliseconds(1))
            let stale = try await cache.respond(to: CacheTest.request("/short"), next: origin.handler)
            #expect(CacheTest.status(stale) == "Stash; fwd=stale; stored", "\(name)")
            #expect(CacheTest.body(stale) == "run 3" && origin.count == 3, "\(name)")
            clock.advance(by: .seconds(10 * 365 * 24 * 3600))
            let forever = try await cache.respond(to: CacheTest.request("/forever"), next: origin.handler)
            #expect(CacheTest.status(forever) == "Stash; hit", "\(name): no ttl for a response fresh for ever")
            #expect(CacheTest.body(forever) == "run 2", "\(name)")
        }
    }

    @Test func headIsAnsweredFromTheStoredGetWithoutABody() async throws {
        let cache = CacheTest.cache(MemoryStore())
        let origin = CountingOrigin.with([.contentLength: "5"])
        let head = try await cache.respond(to: CacheTest.request(method: .head), next: origin.handler)
        #expect(CacheTest.status(head) == "Stash; fwd=uri-miss; detail=head", "a HEAD miss is not stored")
        _ = try await cache.respond(to: CacheTest.request(), next: origin.handler)
        let hit = try await cache.respond(to: CacheTest.request(method: .head), next: origin.handler)
        #expect(origin.count == 2)
        #expect(hit.head.status == .ok && hit.body.readableBytes == 0)
        #expect(hit.head.headerFields[.contentLength] == "5")
        #expect(CacheTest.status(hit) == "Stash; hit; ttl=60")
    }

    @Test func onlyConfiguredMethodsAndStatusesAreCached() async throws {
        let cache = CacheTest.cache(MemoryStore()) { $0.cacheableStatuses = [200, 404] }
        let origin = CountingOrigin()
        let post = try await cache.respond(to: CacheTest.request(method: .post), next: origin.handler)
        _ = try await cache.respond(to: CacheTest.request(method: .post), next: origin.handler)
        #expect(origin.count == 2)
        #expect(CacheTest.status(post) == "Stash; fwd=method")

        for (status, cached) in [(HTTPResponse.Status.notFound, true), (.created, false), (.internalServerError, false)] {
            let origin = CountingOrigin.with([:], status: status)
            let path = "/status/\(status.code)"
            _ = try await cache.respond(to: CacheTest.request(path), next: origin.handler)
            let second = try await cache.respond(to: CacheTest.request(path), next: origin.handler)
            #expect(origin.count == (cached ? 1 : 2), "\(status)")
            #expect(second.head.status == status)
        }
        // The default statuses: 2xx, 301 and 308, not 302.
        let defaults = CacheTest.cache(MemoryStore())
        for (status, cached) in [(HTTPResponse.Status.movedPermanently, true), (.permanentRedirect, true), (.found, false), (.noContent, true)] {
            let origin = CountingOrigin.with([.location: "/elsewhere"], status: status)
            _ = try await defaults.respond(to: CacheTest.request("/r\(status.code)"), next: origin.handler)
            _ = try await defaults.respond(to: CacheTest.request("/r\(status.code)"), next: origin.handler)
            #expect(origin.count == (cached ? 1 : 2), "\(status)")
        }
    }

    @Test func bodiesOverTheLimitAndStreamedBodiesPassThroughUncached() async throws {
        let cache = CacheTest.cache(MemoryStore()) { $0.maximumBodySize = 8 }
        #expect(cache.maximumBodySize == 8)
        let large = CountingOrigin { _, run in StashResponse(status: .ok, body: "run \(run) is longer than eight bytes") }
        _ = try await cache.respond(to: CacheTest.request("/large"), next: large.handler)
        let again = try await cache.respond(to: CacheTest.request("/large"), next: large.handler)
        #expect(large.count == 2 && CacheTest.body(again) == "run 2 is longer than eight bytes")
        #expect(CacheTest.status(again) == "Stash; fwd=uri-miss; detail=too-large")

        let streamed = CountingOrigin { _, _ in StashResponse(head: HTTPResponse(status: .ok), isBodyStreamed: true) }
        _ = try await cache.respond(to: CacheTest.request("/streamed"), next: streamed.handler)
        let second = try await cache.respond(to: CacheTest.request("/streamed"), next: streamed.handler)
        #expect(streamed.count == 2 && second.isBodyStreamed)
        #expect(CacheTest.status(second) == "Stash; fwd=uri-miss; detail=streamed")
    }

    @Test func invalidatingOneURLRemovesEveryVariantAndInvalidatingAllRemovesEverything() async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let cache = CacheTest.cache(store)
            let origin = CountingOrigin.with([.vary: "Accept-Language"])
            for language in ["en", "fr"] {
                _ = try await cache.respond(to: CacheTest.request("/a?x=1", headers: [.acceptLanguage: language]), next: origin.handler)
            }
            _ = try await cache.respond(to: CacheTest.request("/b"), next: origin.handler)
            #expect(origin.count == 3, "\(name)")
            try await cache.invalidate(path: "/a?x=1")
            for (language, status) in [("en", "Stash; fwd=uri-miss; stored"), ("fr", "Stash; fwd=vary-miss; stored")] {
                let response = try await cache.respond(to: CacheTest.request("/a?x=1", headers: [.acceptLanguage: language]), next: origin.handler)
                #expect(CacheTest.status(response) == status, "\(name), \(language)")
            }
            #expect(origin.count == 5, "\(name): both variants were removed")
            let b = try await cache.respond(to: CacheTest.request("/b"), next: origin.handler)
            #expect(CacheTest.status(b) == "Stash; hit; ttl=60", "\(name): another URL is untouched")
            try await cache.invalidateAll()
            _ = try await cache.respond(to: CacheTest.request("/b"), next: origin.handler)
            #expect(origin.count == 6, "\(name)")
        }
    }

    @Test func aCustomKeyAndPerRequestLifetimes() async throws {
        let cache = CacheTest.cache(MemoryStore()) { configuration in
            // One entry per path whatever the query; requests marked private are not cached.
            configuration.key = { request in
                request.head.headerFields[HTTPField.Name("X-No-Cache")!] == nil ? "page:" + request.pathWithoutQuery : nil
            }
            configuration.lifetimeForRequest = { $0.pathWithoutQuery == "/never" ? .notCached : nil }
        }
        let origin = CountingOrigin()
        _ = try await cache.respond(to: CacheTest.request("/p?a=1"), next: origin.handler)
        let hit = try await cache.respond(to: CacheTest.request("/p?a=2"), next: origin.handler)
        #expect(origin.count == 1 && CacheTest.body(hit) == "run 1")
        let declined = try await cache.respond(to: CacheTest.request("/p", headers: [HTTPField.Name("X-No-Cache")!: "1"]), next: origin.handler)
        #expect(origin.count == 2 && CacheTest.status(declined) == "Stash; fwd=bypass")
        _ = try await cache.respond(to: CacheTest.request("/never"), next: origin.handler)
        _ = try await cache.respond(to: CacheTest.request("/never"), next: origin.handler)
        #expect(origin.count == 4)
        try await cache.invalidate(path: "/p")
        _ = try await cache.respond(to: CacheTest.request("/p?a=3"), next: origin.handler)
        #expect(origin.count == 5, "invalidate uses the custom key")
    }

    @Test(arguments: [
        ("/a", "GET /a"), ("", "GET /"), ("/a?", "GET /a"), ("?b=1", "GET /?b=1"), ("/a?a=1&b=2", "GET /a?a=1&b=2"),
        ("/a?b=2&a=1", "GET /a?a=1&b=2"), ("/a?b=2&&a=1&", "GET /a?a=1&b=2"), ("/a?x", "GET /a?x"), ("/a?a=2&a=1", "GET /a?a=1&a=2"),
    ])
    func theDefaultKeySortsTheQuery(path: String, key: String) {
        #expect(ResponseCache.defaultKey(for: CacheTest.request(path)) == key)
    }

    @Test func theRegistryGivesTheCacheItsNamedStore() async throws {
        let store = MemoryStore()
        let registry = StoreRegistry(stores: ["pages": store])
        let cache = try ResponseCache(registry: registry, configuration: .init(storeName: "pages"))
        _ = try await cache.respond(to: CacheTest.request(), next: CountingOrigin().handler)
        #expect(try await store.exists("GET /page"))
        let byDefault = try ResponseCache(registry: registry)
        _ = try await byDefault.respond(to: CacheTest.request(), next: CountingOrigin().handler)
        #expect(try await registry.store(named: "response_cache").exists("GET /page"))
    }

    @Test func theCacheNameIsConfigurableAndQuotedWhenItIsNotAToken() async throws {
        let named = CacheTest.cache(MemoryStore()) { $0.cacheName = "edge-1.example" }
        #expect(
            CacheTest.status(try await named.respond(to: CacheTest.request(), next: CountingOrigin().handler))
                == "edge-1.example; fwd=uri-miss; stored"
        )
        let quoted = CacheTest.cache(MemoryStore()) { $0.cacheName = "My \"Cache\"" }
        #expect(
            CacheTest.status(try await quoted.respond(to: CacheTest.request(), next: CountingOrigin().handler))
                == "\"My \\\"Cache\\\"\"; fwd=uri-miss; stored"
        )
    }
}
