import HTTPTypes
import NIOCore
import Stash
import StashTesting
import Testing

@testable import StashMiddleware

/// Targeted cache-control fields (RFC 9213): the cache follows them instead of `Cache-Control` and `Expires`.
@Suite struct ResponseCacheTargetedFieldTests {
    static let stash = HTTPField.Name("Stash-Cache-Control")!
    static let cdn = HTTPField.Name("CDN-Cache-Control")!

    /// Stores `GET /page` answered with `fields` (following responses, targeted fields Stash's then the CDN's), and
    /// returns the second response.
    static func second(_ fields: HTTPFields) async throws -> StashResponse {
        let cache = CacheTest.cache(MemoryStore()) {
            $0.mode = .responseHeaders
            $0.lifetime = .seconds(5)
            $0.targetedFields = [Self.stash, Self.cdn]
        }
        let origin = CountingOrigin.with(fields)
        _ = try await cache.respond(to: CacheTest.request(), next: origin.handler)
        return try await cache.respond(to: CacheTest.request(), next: origin.handler)
    }

    @Test func theTargetedFieldWinsOverCacheControl() async throws {
        let cached = try await Self.second([.cacheControl: "no-store", Self.stash: "max-age=300"])
        #expect(CacheTest.status(cached) == "Stash; hit; ttl=300", "browsers store nothing; Stash keeps it 5 minutes")
        #expect(cached.head.headerFields[.cacheControl] == "no-store" && cached.head.headerFields[Self.stash] == "max-age=300")
        let refused = try await Self.second([.cacheControl: "max-age=60", Self.stash: "no-store"])
        #expect(CacheTest.body(refused) == "run 2", "Stash's own no-store keeps it out")
    }

    @Test func theFirstTargetedFieldInOrderCounts() async throws {
        let response = try await Self.second([Self.cdn: "max-age=100", Self.stash: "max-age=20"])
        #expect(CacheTest.status(response) == "Stash; hit; ttl=20")
        let cdnOnly = try await Self.second([Self.cdn: "max-age=100", .cacheControl: "max-age=10"])
        #expect(CacheTest.status(cdnOnly) == "Stash; hit; ttl=100")
    }

    @Test func aTargetedFieldWithNoKnownDirectiveIsIgnored() async throws {
        let response = try await Self.second([Self.stash: "bogus, , =", .cacheControl: "max-age=30"])
        #expect(CacheTest.status(response) == "Stash; hit; ttl=30", "Cache-Control applies")
    }

    @Test func expiresIsIgnoredWithATargetedField() async throws {
        let response = try await Self.second([Self.stash: "public", .expires: "Sun, 06 Dec 2099 12:00:00 GMT"])
        #expect(CacheTest.status(response) == "Stash; fwd=uri-miss; detail=no-freshness", "Expires is not followed")
    }

    @Test func withoutTargetedFieldsConfiguredTheyMeanNothing() async throws {
        let cache = CacheTest.cache(MemoryStore())
        let origin = CountingOrigin.with([.cacheControl: "no-store", Self.stash: "max-age=300"])
        _ = try await cache.respond(to: CacheTest.request(), next: origin.handler)
        _ = try await cache.respond(to: CacheTest.request(), next: origin.handler)
        #expect(origin.count == 2)
    }
}
