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
