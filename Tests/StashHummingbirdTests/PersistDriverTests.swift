import Hummingbird
import HummingbirdAuth
import HummingbirdTesting
import NIOCore
import Stash
import StashHummingbird
import StashTestSupport
import StashTesting
import Testing

/// Hummingbird's persist API on Stash's stores, and hummingbird-auth's sessions through it.
@Suite struct PersistDriverTests {
    @Test func thePersistAPIOnEveryStore() async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            try await PersistDriverChecks.run(StorePersistDriver(store: store), name: name)
        }
    }

    @Test func aValueExpiresWhenItsTimeIsUp() async throws {
        let clock = ManualClock()
        let persist = StorePersistDriver(store: MemoryStore(clock: clock))
        try await persist.create(key: "k", value: "v", expires: .seconds(1))
        clock.advance(by: .seconds(2))
        #expect(try await persist.get(key: "k", as: String.self) == nil)
        try await persist.create(key: "k", value: "again", expires: nil)
        #expect(try await persist.get(key: "k", as: String.self) == "again", "an expired key can be created anew")
    }

    @Test func hummingbirdAuthSessionsRunOnAStashStore() async throws {
        typealias Context = BasicSessionRequestContext<String, String>
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let router = Router(context: Context.self)
            router.add(middleware: SessionMiddleware(storage: StorePersistDriver(store: store)))
            router.post("/login") { request, context -> String in
                let user = request.uri.queryParameters["user"].map(String.init) ?? "nobody"
                context.sessions.setSession(user)
                return "ok"
            }
            router.get("/whoami") { _, context -> String in context.sessions.session ?? "anonymous" }
            let app = Application(router: router)
            try await app.test(.router) { client in
                let login = try await client.execute(uri: "/login?user=alice", method: .post)
                let setCookie = try #require(login.headers[.setCookie], "\(name)")
                let cookie = String(setCookie.prefix { $0 != ";" })
                let asAlice = try await client.execute(uri: "/whoami", method: .get, headers: [.cookie: cookie])
                #expect(String(buffer: asAlice.body) == "alice", "\(name)")
                let anonymous = try await client.execute(uri: "/whoami", method: .get)
                #expect(String(buffer: anonymous.body) == "anonymous", "\(name)")
            }
            #expect(try await store.keys(withPrefix: "hbs.").collect().count == 1, "\(name): the session is in the store")
        }
    }
}
