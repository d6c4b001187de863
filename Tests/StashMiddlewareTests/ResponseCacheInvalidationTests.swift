import HTTPTypes
import NIOCore
import Stash
import StashRedis
import StashTestSupport
import StashTesting
import Testing

@testable import StashMiddleware

/// RFC 9111 §4.4: a non-error response to an unsafe request invalidates what the cache stores for its URL, every
/// variant, and for the same-origin URLs its `Location` and `Content-Location` name.
@Suite struct ResponseCacheInvalidationTests {
    /// Stores `GET path` through `cache`, then checks that a second GET is a hit.
    static func store(_ path: String, in cache: ResponseCache, origin: CountingOrigin, headers: HTTPFields = [:]) async throws {
        _ = try await cache.respond(to: CacheTest.request(path, headers: headers), next: origin.handler)
        let hit = try await cache.respond(to: CacheTest.request(path, headers: headers), next: origin.handler)
        #expect(CacheTest.status(hit)?.hasPrefix("Stash; hit") == true, "\(path) is stored")
    }

    /// Whether `GET path` is still served from the cache; a miss stores nothing (its answer says `no-store`).
    static func isStored(_ path: String, in cache: ResponseCache, headers: HTTPFields = [:]) async throws -> Bool {
        let response = try await cache.respond(to: CacheTest.request(path, headers: headers)) { _ in
            StashResponse(status: .ok, headerFields: [.cacheControl: "no-store"], body: "fresh")
        }
        return CacheTest.status(response)?.hasPrefix("Stash; hit") == true
    }

    @Test(arguments: [HTTPRequest.Method.post, .put, .delete, .patch])
    func aSuccessfulUnsafeRequestInvalidatesItsURLOnEveryStore(method: HTTPRequest.Method) async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let cache = CacheTest.cache(store)
            let origin = CountingOrigin()
            try await Self.store("/items", in: cache, origin: origin)
            try await Self.store("/other", in: cache, origin: origin)
            let write = try await cache.respond(to: CacheTest.request("/items", method: method)) { _ in
                StashResponse(status: .ok, body: "written")
            }
            #expect(CacheTest.body(write) == "written" && CacheTest.status(write) == "Stash; fwd=method", "\(name) \(method)")
            #expect(try await !Self.isStored("/items", in: cache), "\(name) \(method): the list before the write is gone")
            #expect(try await Self.isStored("/other", in: cache), "\(name) \(method): other URLs stay")
        }
    }

    @Test func everyVariantIsInvalidated() async throws {
        let cache = CacheTest.cache(MemoryStore())
        let origin = CountingOrigin.with([.vary: "Accept-Language"])
        for language in ["en", "fr"] {
            try await Self.store("/items", in: cache, origin: origin, headers: [.acceptLanguage: language])
        }
        _ = try await cache.respond(to: CacheTest.request("/items", method: .post)) { _ in StashResponse(status: .created, body: "") }
        for language in ["en", "fr"] {
            #expect(try await !Self.isStored("/items", in: cache, headers: [.acceptLanguage: language]), "\(language)")
        }
    }

    @Test(arguments: [HTTPResponse.Status.badRequest, .notFound, .conflict, .internalServerError, .serviceUnavailable])
    func anErrorResponseInvalidatesNothing(status: HTTPResponse.Status) async throws {
        let cache = CacheTest.cache(MemoryStore())
        try await Self.store("/items", in: cache, origin: CountingOrigin())
        _ = try await cache.respond(to: CacheTest.request("/items", method: .post)) { _ in StashResponse(status: status, body: "no") }
        #expect(try await Self.isStored("/items", in: cache), "\(status)")
    }

    @Test func sameOriginLocationAndContentLocationAreInvalidatedOthersNever() async throws {
        let cache = CacheTest.cache(MemoryStore())
        let origin = CountingOrigin()
        for path in ["/items/5", "/items/6", "/items/7", "/items/8", "/items/9"] {
            try await Self.store(path, in: cache, origin: origin)
        }
        _ = try await cache.respond(to: CacheTest.request("/items", method: .post)) { _ in
            StashResponse(status: .created, headerFields: [.location: "/items/5", .contentLocation: "http://localhost/items/6#top"], body: "")
        }
        #expect(try await !Self.isStored("/items/5", in: cache), "a path-absolute Location")
        #expect(try await !Self.isStored("/items/6", in: cache), "an absolute Content-Location of the same origin")
        for location in ["https://localhost/items/7", "http://elsewhere.example/items/8", "//elsewhere.example/items/9", "items/9"] {
            _ = try await cache.respond(to: CacheTest.request("/items", method: .post)) { _ in
                StashResponse(status: .created, headerFields: [.location: location], body: "")
            }
        }
        for path in ["/items/7", "/items/8", "/items/9"] {
            #expect(try await Self.isStored(path, in: cache), "\(path): another origin, or not a path, is never invalidated")
        }
    }

    @Test func aWriteThroughOneInstanceInvalidatesForTheOthers() async throws {
        let stores = try TestStores.shared()
        #expect(!stores.isEmpty, "a server two instances share")
        for (name, store) in stores {
            try await store.deleteAll()
            let first = CacheTest.cache(store)
            let second = CacheTest.cache(store)
            try await Self.store("/items", in: first, origin: CountingOrigin())
            #expect(try await Self.isStored("/items", in: second), "\(name): both serve the stored list")
            _ = try await first.respond(to: CacheTest.request("/items", method: .delete)) { _ in
                StashResponse(head: HTTPResponse(status: .noContent))
            }
            #expect(try await !Self.isStored("/items", in: second), "\(name): the other instance no longer serves it")
        }
    }

    @Test func aStoreThatIsDownNeverFailsTheWrite() async throws {
        var configuration = try RedisConfiguration(url: "redis://127.0.0.1:1/0")
        configuration.connectTimeout = .milliseconds(200)
        let cache = CacheTest.cache(try RedisStore(configuration: configuration))
        let response = try await cache.respond(to: CacheTest.request("/items", method: .post)) { _ in StashResponse(status: .created, body: "ok") }
        #expect(response.head.status == .created && CacheTest.body(response) == "ok")
    }
}
