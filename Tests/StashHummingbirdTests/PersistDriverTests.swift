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
            let persist = StorePersistDriver(store: store)
            try await persist.create(key: "a", value: "one", expires: nil)
            await #expect(throws: PersistError.duplicate, "\(name)") { try await persist.create(key: "a", value: "two", expires: nil) }
            #expect(try await persist.get(key: "a", as: String.self) == "one", "\(name)")
            await #expect(throws: PersistError.invalidConversion, "\(name)") { _ = try await persist.get(key: "a", as: Int.self) }

            try await persist.set(key: "t", value: 1, expires: .seconds(60))
            try await persist.set(key: "t", value: 2, expires: nil)
            let kept = try #require(try await persist.getWithTTL(key: "t", as: Int.self), "\(name)")
            #expect(kept.object == 2, "\(name)")
            #expect(kept.ttl.map { $0 > .seconds(59) && $0 <= .seconds(60) } == true, "\(name): set without expiry keeps it")
            try await persist.set(key: "n", value: 3, expires: nil)
            #expect(try await persist.getWithTTL(key: "n", as: Int.self).map { $0.ttl == nil } == true, "\(name)")

            try await persist.remove(key: "a")
            #expect(try await persist.get(key: "a", as: String.self) == nil, "\(name)")
            await expectStoreError([.invalidKey], "\(name): an empty key") { try await persist.set(key: "", value: 1, expires: nil) }
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
