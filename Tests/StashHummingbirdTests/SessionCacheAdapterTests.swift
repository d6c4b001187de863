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

/// A context that carries the session, as an application using sessions has.
struct SessionTestContext: RemoteAddressRequestContext, StashSessionRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?
    var session: Session?

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
        self.session = nil
    }
}

/// The response cache and sessions as Hummingbird router middleware, in either order: a page whose handler read the
/// session is never replayed to another client.
@Suite struct SessionCacheAdapterTests {
    enum Order: CaseIterable {
        /// `router.add(cache)` before `router.add(sessions)`: the cache is the outer middleware.
        case cacheOutside
        /// Sessions for the whole router, the cache on a group (the README's example).
        case sessionsOutside
    }

    static func application(store: any Store, order: Order, runs: RunCounter) throws -> some ApplicationProtocol {
        let cache = StashRouterMiddleware<SessionTestContext>(
            ResponseCache(store: try store.withNamespace("response_cache"), configuration: .init(), clock: ManualClock())
        )
        // Qualified by its module, as beside hummingbird-auth's own SessionMiddleware: no type in StashMiddleware is named like it.
        let sessions = StashRouterMiddleware<SessionTestContext>(
            sessions: StashMiddleware.SessionMiddleware(store: try store.withNamespace("sessions"))
        )
        let router = Router(context: SessionTestContext.self)
        let group: RouterGroup<SessionTestContext>
        switch order {
        case .cacheOutside:
            group = router.group().add(middleware: cache).add(middleware: sessions)
        case .sessionsOutside:
            group = router.group().add(middleware: sessions).add(middleware: cache)
        }
        group.post("/login") { request, context in
            let user = request.uri.queryParameters["user"].map(String.init) ?? "nobody"
            try context.session?.setValue(user, forKey: "user")
            context.session?.regenerateID()
            return "logged in as \(user)"
        }
        group.get("/whoami") { _, context in
            runs.increment()
            return try context.session?.value(forKey: "user", as: String.self) ?? "anonymous"
        }
        group.get("/public") { _, _ in
            "the same for everyone"
        }
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }

    @Test(arguments: Order.allCases)
    func aPageThatReadTheSessionIsNeverServedToAnotherClient(order: Order) async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let runs = RunCounter()
            try await Self.application(store: store, order: order, runs: runs).test(.router) { client in
                let login = try await client.execute(uri: "/login?user=alice", method: .post)
                let setCookie = try #require(login.headers[.setCookie])
                let cookie = String(setCookie.prefix { $0 != ";" })

                let asAlice = try await client.execute(uri: "/whoami", method: .get, headers: [.cookie: cookie])
                #expect(String(buffer: asAlice.body) == "alice", "\(name) \(order)")
                #expect(asAlice.headers[.cacheControl] == "private", "\(name) \(order): shared caches downstream do not store it")
                #expect(asAlice.headers[.vary] == "Cookie", "\(name) \(order)")
                let anonymous = try await client.execute(uri: "/whoami", method: .get)
                #expect(String(buffer: anonymous.body) == "anonymous", "\(name) \(order): not alice's page, from the cache")
                #expect(runs.count == 2, "\(name) \(order)")

                let first = try await client.execute(uri: "/public", method: .get, headers: [.cookie: cookie])
                let second = try await client.execute(uri: "/public", method: .get)
                #expect(first.headers[.cacheStatus] == "Stash; fwd=uri-miss; stored", "\(name) \(order): a page that never reads the session")
                #expect(second.headers[.cacheStatus]?.hasPrefix("Stash; hit") == true, "\(name) \(order)")
            }
        }
    }
}

extension HTTPField.Name {
    fileprivate static let cacheStatus = Self("Cache-Status")!
}
