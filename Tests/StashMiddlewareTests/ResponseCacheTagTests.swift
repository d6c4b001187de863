import HTTPTypes
import NIOCore
import Stash
import StashTestSupport
import StashTesting
import Testing

@testable import StashMiddleware

/// Invalidation by tag: responses list their tags in a configured field, and `invalidate(tag:)` (or an unsafe
/// request whose response lists the tag) removes every response with it, on every instance sharing the store.
@Suite struct ResponseCacheTagTests {
    static let cacheTag = HTTPField.Name("Cache-Tag")!

    static func cache(_ store: any Store, clock: ManualClock = ManualClock()) -> ResponseCache {
        CacheTest.cache(store, clock: clock) {
            $0.tagField = Self.cacheTag
            $0.methods = [.get]
        }
    }

    /// A handler whose responses carry tags (`/products/7`, which varies on `Accept-Language`, `/products`,
    /// `/products/8`, `/about`) or none (any other path).
    static func origin() -> CountingOrigin {
        CountingOrigin { request, run in
            let tags: String
            var fields: HTTPFields = [:]
            switch request.head.path {
            case "/products/7":
                tags = "product-7 products"
                fields[.vary] = "Accept-Language"
            case "/products": tags = "products, product-7,products"
            case "/products/8": tags = "product-8,products"
            case "/about": tags = "other"
            default: tags = ""
            }
            if !tags.isEmpty { fields[Self.cacheTag] = tags }
            return StashResponse(status: .ok, headerFields: fields, body: "run \(run)")
        }
    }

    @Test func invalidatingATagRemovesEveryResponseWithItOnEveryInstance() async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            // Two instances on one clock: a manual clock starts at the time it is made.
            let clock = ManualClock()
            let first = Self.cache(store, clock: clock)
            let second = Self.cache(store, clock: clock)
            let origin = Self.origin()
            let english: HTTPFields = [.acceptLanguage: "en"]
            let french: HTTPFields = [.acceptLanguage: "fr"]
            for (path, headers) in [("/products/7", english), ("/products/7", french), ("/products", [:]), ("/products/8", [:]), ("/about", [:])]
                as [(String, HTTPFields)]
            {
                let stored = try await first.respond(to: CacheTest.request(path, headers: headers), next: origin.handler)
                #expect(CacheTest.status(stored)?.hasSuffix("-miss; stored") == true, "\(name) \(path)")
                #expect(!stored.head.headerFields.contains(Self.cacheTag), "\(name): the tags never reach the client")
                let hit = try await second.respond(to: CacheTest.request(path, headers: headers), next: origin.handler)
                #expect(CacheTest.status(hit)?.hasPrefix("Stash; hit") == true, "\(name) \(path)")
                #expect(!hit.head.headerFields.contains(Self.cacheTag), "\(name): nor does a hit carry them")
            }
            #expect(origin.count == 5)

            try await second.invalidate(tag: "product-7")
            for (path, headers, removed) in [
                ("/products/7", english, true), ("/products/7", french, true), ("/products", [:], true), ("/products/8", [:], false),
                ("/about", [:], false),
            ] as [(String, HTTPFields, Bool)] {
                let response = try await first.respond(to: CacheTest.request(path, headers: headers), next: origin.handler)
                #expect(CacheTest.status(response)?.hasPrefix("Stash; hit") == !removed, "\(name) \(path) \(headers)")
            }
            #expect(origin.count == 8, "\(name): the three tagged responses were asked for again")

            try await first.invalidate(tag: "products")
            let eight = try await second.respond(to: CacheTest.request("/products/8"), next: origin.handler)
            let about = try await second.respond(to: CacheTest.request("/about"), next: origin.handler)
            #expect(CacheTest.body(eight) == "run 9" && CacheTest.status(about) == "Stash; hit; ttl=60", "\(name)")
            try await first.invalidate(tag: "never-used")
            try await first.invalidate(tag: "")
        }
    }

    @Test func anUnsafeRequestsResponseInvalidatesTheTagsItLists() async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let cache = Self.cache(store)
            let origin = Self.origin()
            _ = try await cache.respond(to: CacheTest.request("/products/8"), next: origin.handler)
            _ = try await cache.respond(to: CacheTest.request("/about"), next: origin.handler)
            let write = CountingOrigin.with([Self.cacheTag: "product-8"], status: .noContent)
            let written = try await cache.respond(to: CacheTest.request("/api/stock", method: .post), next: write.handler)
            #expect(!written.head.headerFields.contains(Self.cacheTag), "\(name)")
            let eight = try await cache.respond(to: CacheTest.request("/products/8"), next: origin.handler)
            let about = try await cache.respond(to: CacheTest.request("/about"), next: origin.handler)
            #expect(CacheTest.body(eight) == "run 3" && CacheTest.status(about) == "Stash; hit; ttl=60", "\(name)")
            // A failed write invalidates nothing.
            let failed = CountingOrigin.with([Self.cacheTag: "product-8"], status: .conflict)
            _ = try await cache.respond(to: CacheTest.request("/api/stock", method: .post), next: failed.handler)
            let still = try await cache.respond(to: CacheTest.request("/products/8"), next: origin.handler)
            #expect(CacheTest.body(still) == "run 3", "\(name)")
        }
    }

    @Test func aTaggedResponseIsFoundInTheNextPeriodAndKeptAtMostTwo() async throws {
        let clock = ManualClock()
        let store = MemoryStore(clock: clock)
        let cache = CacheTest.cache(store, clock: clock) {
            $0.tagField = Self.cacheTag
            $0.lifetime = .forever
        }
        let origin = Self.origin()
        _ = try await cache.respond(to: CacheTest.request("/products/8"), next: origin.handler)
        clock.advance(by: .seconds(30 * 3600))
        try await cache.invalidate(tag: "product-8")
        let removed = try await cache.respond(to: CacheTest.request("/products/8"), next: origin.handler)
        #expect(CacheTest.status(removed) == "Stash; fwd=uri-miss; stored", "found in the next day's set")
        // Kept for ever otherwise, a tagged response lasts until the end of the day after it was stored.
        clock.advance(by: .seconds(48 * 3600))
        let expired = try await cache.respond(to: CacheTest.request("/products/8"), next: origin.handler)
        #expect(CacheTest.status(expired) == "Stash; fwd=uri-miss; stored" && origin.count == 3)
        let untagged = try await cache.respond(to: CacheTest.request("/plain"), next: origin.handler)
        clock.advance(by: .seconds(480 * 3600))
        let forever = try await cache.respond(to: CacheTest.request("/plain"), next: origin.handler)
        #expect(CacheTest.body(forever) == CacheTest.body(untagged), "an untagged response is not capped")
    }

    @Test func aRevalidatedResponseKeepsItsTagsUnlessThe304ListsOthers() async throws {
        let clock = ManualClock()
        let cache = CacheTest.cache(MemoryStore(), clock: clock) {
            $0.tagField = Self.cacheTag
            $0.mode = .responseHeaders
        }
        let origin = VersionedOrigin(fields: [.cacheControl: "max-age=10", Self.cacheTag: "report"])
        _ = try await cache.respond(to: CacheTest.request(), next: origin.handler)
        clock.advance(by: .seconds(11))
        let revalidated = try await cache.respond(to: CacheTest.request(), next: origin.handler)
        #expect(CacheTest.status(revalidated) == "Stash; fwd=stale; fwd-status=304; stored")
        #expect(!revalidated.head.headerFields.contains(Self.cacheTag))
        try await cache.invalidate(tag: "report")
        let after = try await cache.respond(to: CacheTest.request(), next: origin.handler)
        #expect(CacheTest.status(after) == "Stash; fwd=uri-miss; stored" && origin.runs == 3)
    }

    @Test func aResponseWithTooManyTagsIsNotStored() async throws {
        let cache = Self.cache(MemoryStore())
        let many = (1...65).map { "t\($0)" }.joined(separator: ",")
        let origin = CountingOrigin.with([Self.cacheTag: many])
        let response = try await cache.respond(to: CacheTest.request(), next: origin.handler)
        #expect(CacheTest.status(response) == "Stash; fwd=uri-miss; detail=tags" && !response.head.headerFields.contains(Self.cacheTag))
        let limit = CountingOrigin.with([Self.cacheTag: (1...64).map { "t\($0)" }.joined(separator: " ")])
        let stored = try await cache.respond(to: CacheTest.request("/limit"), next: limit.handler)
        #expect(CacheTest.status(stored) == "Stash; fwd=uri-miss; stored")
    }

    @Test func withoutATagFieldTheFieldIsAnOrdinaryOne() async throws {
        let cache = CacheTest.cache(MemoryStore())
        let origin = CountingOrigin.with([Self.cacheTag: "a"])
        _ = try await cache.respond(to: CacheTest.request(), next: origin.handler)
        let hit = try await cache.respond(to: CacheTest.request(), next: origin.handler)
        #expect(hit.head.headerFields[Self.cacheTag] == "a")
    }
}
