import HTTPTypes
import NIOCore
import Stash
import StashTesting
import Testing

@testable import StashMiddleware

/// `If-Modified-Since` answered from a stored `Last-Modified`, and the statuses stored when a response gives its own
/// freshness.
@Suite struct ResponseCacheConditionalStatusTests {
    static let lastModified = "Sat, 05 Dec 2026 10:00:00 GMT"

    /// A cache holding `GET /page` with `Last-Modified` and an `ETag`.
    static func stored() async throws -> ResponseCache {
        let cache = CacheTest.cache(MemoryStore())
        let origin = CountingOrigin.with([.lastModified: Self.lastModified, .eTag: "\"v1\""])
        _ = try await cache.respond(to: CacheTest.request(), next: origin.handler)
        return cache
    }

    @Test(arguments: [
        ("Sat, 05 Dec 2026 10:00:00 GMT", true), ("Sat, 05 Dec 2026 11:00:00 GMT", true), ("Sat, 05 Dec 2026 09:59:59 GMT", false),
        ("Sat, 05 Dec 2026 10:00:00", false), ("yesterday", false), ("Sat, 05 Dec 2026 10:00:00 GMT, Sat, 05 Dec 2026 11:00:00 GMT", false),
    ])
    func ifModifiedSinceIsAnsweredFromTheStoredLastModified(since: String, notModified: Bool) async throws {
        let cache = try await Self.stored()
        let response = try await cache.respond(to: CacheTest.request(headers: [.ifModifiedSince: since])) { _ in
            Issue.record("a hit runs no handler")
            return StashResponse(status: .ok, body: "")
        }
        #expect((response.head.status == .notModified) == notModified, "\(since)")
        #expect(CacheTest.body(response) == (notModified ? "" : "run 1"), "\(since)")
    }

    @Test func ifNoneMatchDecidesWhenBothAreSent() async throws {
        let cache = try await Self.stored()
        let later = "Sat, 05 Dec 2026 11:00:00 GMT"
        let other = try await cache.respond(to: CacheTest.request(headers: [.ifNoneMatch: "\"v0\"", .ifModifiedSince: later])) { _ in
            StashResponse(status: .ok, body: "")
        }
        #expect(other.head.status == .ok, "another entity tag: the full response, whatever the date says")
        let same = try await cache.respond(to: CacheTest.request(headers: [.ifNoneMatch: "\"v1\"", .ifModifiedSince: "yesterday"])) { _ in
            StashResponse(status: .ok, body: "")
        }
        #expect(same.head.status == .notModified)
    }

    /// Stores `GET /page` answered with `status` and `fields`, in the mode chosen, and says whether the second request hit.
    static func isCached(_ status: HTTPResponse.Status, _ fields: HTTPFields, followingResponses: Bool) async throws -> Bool {
        // On the freshness tests' clock (noon, 2026-12-05 GMT), so the fixed `Expires` below is always an hour ahead.
        let cache = CacheTest.cache(MemoryStore(), clock: ResponseFreshnessTests.clock()) {
            $0.mode = followingResponses ? .responseHeaders : .configuredLifetimes
        }
        let origin = CountingOrigin.with(fields, status: status)
        _ = try await cache.respond(to: CacheTest.request(), next: origin.handler)
        _ = try await cache.respond(to: CacheTest.request(), next: origin.handler)
        return origin.count == 1
    }

    @Test(arguments: [
        HTTPResponse.Status.found, .temporaryRedirect, .notFound, .gone, .internalServerError, .serviceUnavailable,
    ])
    func anyFinalStatusWithItsOwnFreshnessIsStoredWhenFollowingResponses(status: HTTPResponse.Status) async throws {
        #expect(try await Self.isCached(status, [.cacheControl: "max-age=30"], followingResponses: true), "\(status) with max-age")
        #expect(try await Self.isCached(status, [.expires: "Sat, 05 Dec 2026 13:00:00 GMT"], followingResponses: true), "\(status) with Expires")
        #expect(try await !Self.isCached(status, [:], followingResponses: true), "\(status) without freshness: no heuristic")
        #expect(try await !Self.isCached(status, [.cacheControl: "max-age=30"], followingResponses: false), "\(status): not in the lifetime mode")
    }

    @Test(arguments: [HTTPResponse.Status.partialContent, .notModified])
    func partialAndNotModifiedResponsesAreNeverStored(status: HTTPResponse.Status) async throws {
        for following in [true, false] {
            #expect(try await !Self.isCached(status, [.cacheControl: "max-age=30"], followingResponses: following), "\(status)")
        }
    }
}
