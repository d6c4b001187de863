import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Stash
import StashHummingbird
import StashMiddleware
import StashTestSupport
import StashTesting
import Testing

/// Through the Hummingbird adapter, the response cache answers a client's preconditions from a fresh stored
/// response, stores nothing whose freshness fields are garbage, and takes its tags off what clients see.
@Suite struct CacheHeadersAdapterTests {
    static let cacheStatus = HTTPField.Name("Cache-Status")!
    static let cacheTag = HTTPField.Name("Cache-Tag")!

    @Test func aFreshResponseAnswersTheClientsPreconditionsWith304() async throws {
        let runs = RunCounter()
        let router = Router(context: TestContext.self)
        let cache = ResponseCache(store: MemoryStore(), configuration: .init(mode: .responseHeaders), clock: ManualClock())
        router.group("/doc").add(middleware: StashRouterMiddleware(cache)).get { _, _ -> Response in
            runs.increment()
            let headers: HTTPFields = [.eTag: "\"d1\"", .lastModified: "Sat, 05 Dec 2026 10:00:00 GMT", .cacheControl: "max-age=60"]
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: "the document")))
        }
        try await Application(router: router).test(.router) { client in
            _ = try await client.execute(uri: "/doc", method: .get)
            let matched = try await client.execute(uri: "/doc", method: .get, headers: [.ifNoneMatch: "W/\"d1\""])
            let unmatched = try await client.execute(uri: "/doc", method: .get, headers: [.ifNoneMatch: "\"d0\""])
            let unmodified = try await client.execute(
                uri: "/doc",
                method: .get,
                headers: [.ifModifiedSince: "Sat, 05 Dec 2026 10:00:00 GMT"]
            )
            #expect(matched.status == .notModified && matched.body.readableBytes == 0, "weak comparison matches \"d1\"")
            #expect(matched.headers[.eTag] == "\"d1\"")
            #expect(unmatched.status == .ok && String(buffer: unmatched.body) == "the document")
            #expect(unmodified.status == .notModified)
            #expect(runs.count == 1, "every answer came from the stored response")
        }
    }

    @Test(arguments: [
        ["Expires": "yesterday"],
        ["Expires": "Sat, 31 Feb 2026 12:00:00 GMT"],
        ["Cache-Control": "max-age=60", "Age": "99999999999999999999999"],
        ["Cache-Control": "max-age=60", "Age": "120"],
        ["Date": "not a date", "Age": "-5"],
    ])
    func garbageOrExhaustedFreshnessStoresNothing(fields: [String: String]) async throws {
        let runs = RunCounter()
        let router = Router(context: TestContext.self)
        let cache = ResponseCache(store: MemoryStore(), configuration: .init(mode: .responseHeaders), clock: ManualClock())
        router.group("/feed").add(middleware: StashRouterMiddleware(cache)).get { _, _ -> Response in
            runs.increment()
            var headers = HTTPFields()
            for (name, value) in fields { headers[HTTPField.Name(name)!] = value }
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: "run \(runs.count)")))
        }
        try await Application(router: router).test(.router) { client in
            let first = try await client.execute(uri: "/feed", method: .get)
            let second = try await client.execute(uri: "/feed", method: .get)
            #expect(first.status == .ok && String(buffer: second.body) == "run 2", "\(fields): never served from the cache")
            #expect(second.headers[Self.cacheStatus]?.hasPrefix("Stash; fwd=uri-miss; detail=") == true, "\(second.headers)")
        }
    }

    @Test func tagsNeverReachClientsAndAWriteListingOneInvalidatesIt() async throws {
        let runs = RunCounter()
        let router = Router(context: TestContext.self)
        var configuration = ResponseCache.Configuration(lifetime: .seconds(300))
        configuration.tagField = Self.cacheTag
        let group = router.group("/products").add(
            middleware: StashRouterMiddleware(ResponseCache(store: MemoryStore(), configuration: configuration))
        )
        group.get("/7") { _, _ -> Response in
            runs.increment()
            return Response(
                status: .ok,
                headers: [Self.cacheTag: "product-7, products"],
                body: .init(byteBuffer: ByteBuffer(string: "run \(runs.count)"))
            )
        }
        group.post("/stock") { _, _ -> Response in
            Response(status: .noContent, headers: [Self.cacheTag: "product-7"])
        }
        try await Application(router: router).test(.router) { client in
            let stored = try await client.execute(uri: "/products/7", method: .get)
            let hit = try await client.execute(uri: "/products/7", method: .get)
            let write = try await client.execute(uri: "/products/stock", method: .post)
            let afterWrite = try await client.execute(uri: "/products/7", method: .get)
            #expect(stored.headers[Self.cacheTag] == nil && hit.headers[Self.cacheTag] == nil && write.headers[Self.cacheTag] == nil)
            #expect(String(buffer: hit.body) == "run 1" && hit.headers[Self.cacheStatus]?.hasPrefix("Stash; hit") == true)
            #expect(write.status == .noContent && String(buffer: afterWrite.body) == "run 2", "the write's tag invalidated /products/7")
        }
    }
}
