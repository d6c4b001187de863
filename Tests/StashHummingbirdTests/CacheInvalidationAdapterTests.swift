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

/// Through the Hummingbird adapter, a successful write to a URL invalidates what the cache stored for it.
@Suite struct CacheInvalidationAdapterTests {
    @Test func aPostInvalidatesTheCachedListAndAFailedOneDoesNot() async throws {
        let runs = RunCounter()
        let router = Router(context: TestContext.self)
        let items = router.group("/items").add(middleware: StashRouterMiddleware(ResponseCache(store: MemoryStore(), clock: ManualClock())))
        items.get { _, _ in
            runs.increment()
            return "list \(runs.count)"
        }
        items.post { request, _ -> Response in
            let fails = request.uri.queryParameters["fail"] != nil
            return Response(status: fails ? .conflict : .created, headers: [.location: "/items/1"])
        }
        try await Application(router: router).test(.router) { client in
            func list() async throws -> String {
                String(buffer: try await client.execute(uri: "/items", method: .get).body)
            }
            let first = try await list()
            let hit = try await list()
            let failed = try await client.execute(uri: "/items?fail=1", method: .post).status
            let afterFailure = try await list()
            let written = try await client.execute(uri: "/items", method: .post).status
            let afterWrite = try await list()
            #expect(first == "list 1" && hit == "list 1", "a hit")
            #expect(failed == .conflict && afterFailure == "list 1", "an error invalidates nothing")
            #expect(written == .created && afterWrite == "list 2", "the write invalidated the list")
        }
    }
}

/// What a downstream cache sees of a hit through Hummingbird: one current `Date`, and the true `Age`.
@Suite struct CacheDateAdapterTests {
    @Test func aHitCarriesOneCurrentDateAndItsTrueAge() async throws {
        // Noon, 2026-12-05 (GMT), on the cache's clock.
        let clock = ManualClock(now: WallClock.Instant(sinceEpoch: .seconds(1_796_472_000)))
        let router = Router(context: TestContext.self)
        let cache = ResponseCache(store: MemoryStore(), configuration: .init(mode: .responseHeaders), clock: clock)
        router.group("/page").add(middleware: StashRouterMiddleware(cache)).get { _, _ in
            // An origin's response, generated a minute before it arrived, already 30 s old.
            Response(
                status: .ok,
                headers: [.date: "Sat, 05 Dec 2026 11:59:00 GMT", .age: "30", .cacheControl: "max-age=600"],
                body: .init(byteBuffer: ByteBuffer(string: "page"))
            )
        }
        try await Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0))).test(.live) { client in
            _ = try await client.execute(uri: "/page", method: .get)
            clock.advance(by: .seconds(10))
            let hit = try await client.execute(uri: "/page", method: .get)
            #expect(hit.headers[.init("Cache-Status")!]?.hasPrefix("Stash; hit") == true)
            #expect(hit.headers[values: .date].count == 1 && hit.headers[.date] != "Sat, 05 Dec 2026 11:59:00 GMT", "\(hit.headers)")
            // A minute old on arrival by its Date (more than its Age of 30 says), then 10 s in the cache.
            #expect(hit.headers[.age] == "70")
        }
    }
}

/// Through the Hummingbird adapter, a stale response is revalidated with the handler, whose 304 refreshes it.
@Suite struct CacheRevalidationAdapterTests {
    @Test func aHandlerThatAnswers304KeepsTheStoredBodyInService() async throws {
        let clock = ManualClock()
        let runs = RunCounter()
        let router = Router(context: TestContext.self)
        let cache = ResponseCache(store: MemoryStore(), configuration: .init(mode: .responseHeaders), clock: clock)
        router.group("/report").add(middleware: StashRouterMiddleware(cache)).get { request, _ -> Response in
            runs.increment()
            let headers: HTTPFields = [.eTag: "\"r1\"", .cacheControl: "max-age=10", .init("X-Run")!: "\(runs.count)"]
            if request.headers[.ifNoneMatch] == "\"r1\"" { return Response(status: .notModified, headers: headers) }
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: "an expensive report")))
        }
        try await Application(router: router).test(.router) { client in
            _ = try await client.execute(uri: "/report", method: .get)
            clock.advance(by: .seconds(12))
            let revalidated = try await client.execute(uri: "/report", method: .get)
            #expect(revalidated.status == .ok && String(buffer: revalidated.body) == "an expensive report")
            #expect(revalidated.headers[.init("Cache-Status")!] == "Stash; fwd=stale; fwd-status=304; stored")
            #expect(revalidated.headers[.init("X-Run")!] == "2", "the 304's fields refreshed the stored ones")
            let hit = try await client.execute(uri: "/report", method: .get)
            #expect(hit.headers[.init("Cache-Status")!] == "Stash; hit; ttl=10" && runs.count == 2)
            #expect(String(buffer: hit.body) == "an expensive report" && hit.headers[.contentLength] == "19")
        }
    }
}
