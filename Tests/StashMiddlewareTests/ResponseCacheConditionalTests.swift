import HTTPTypes
import NIOCore
import Stash
import StashMiddleware
import StashTestSupport
import StashTesting
import Testing

@Suite struct ResponseCacheConditionalTests {
    static let fields: HTTPFields = [
        .eTag: "W/\"v7\"", .cacheControl: "max-age=60", .contentType: "text/plain", .vary: "Accept", .date: "Tue, 01 Jul 2025 10:00:00 GMT",
    ]

    @Test(arguments: [
        ("\"v7\"", true), ("W/\"v7\"", true), ("\"v1\", W/\"v7\"", true), ("*", true), ("  \"x\" ,\"v7\"", true),
        ("\"v1\"", false), ("\"v7", false), ("v7", false), ("junk, \"v7\"", false), ("\"v1\", junk, \"v7\"", false),
    ])
    func ifNoneMatchIsAnsweredFromTheStoredETag(ifNoneMatch: String, notModified: Bool) async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let cache = CacheTest.cache(store)
            let origin = CountingOrigin.with(Self.fields)
            _ = try await cache.respond(to: CacheTest.request(), next: origin.handler)
            let response = try await cache.respond(to: CacheTest.request(headers: [.ifNoneMatch: ifNoneMatch]), next: origin.handler)
            #expect(origin.count == 1, "\(name)")
            if notModified {
                #expect(response.head.status == .notModified, "\(name): \(ifNoneMatch)")
                #expect(response.body.readableBytes == 0)
                let names = Set(response.head.headerFields.map(\.name))
                #expect(names == [.eTag, .cacheControl, .vary, .date, .age, .cacheStatus], "\(name): no Content-Type on a 304")
                #expect(response.head.headerFields[.eTag] == "W/\"v7\"")
                #expect(CacheTest.status(response) == "Stash; hit; ttl=60")
            } else {
                #expect(response.head.status == .ok && CacheTest.body(response) == "run 1", "\(name): \(ifNoneMatch)")
            }
        }
    }

    @Test func aResponseWithoutAnETagOrOfAnotherStatusIsNeverA304() async throws {
        let cache = CacheTest.cache(MemoryStore())
        let plain = CountingOrigin()
        _ = try await cache.respond(to: CacheTest.request("/plain"), next: plain.handler)
        let any = try await cache.respond(to: CacheTest.request("/plain", headers: [.ifNoneMatch: "*"]), next: plain.handler)
        #expect(any.head.status == .ok, "no stored ETag to match")
        let redirect = CountingOrigin.with([.eTag: "\"r\"", .location: "/new"], status: .movedPermanently)
        _ = try await cache.respond(to: CacheTest.request("/old"), next: redirect.handler)
        let moved = try await cache.respond(to: CacheTest.request("/old", headers: [.ifNoneMatch: "\"r\""]), next: redirect.handler)
        #expect(moved.head.status == .movedPermanently && redirect.count == 1)
    }
}
