import NIOCore
import Stash
import StashMiddleware
import StashTestSupport
import StashTesting
import StashVapor
import Testing
import Vapor
import VaporTesting

/// Sessions as Vapor middleware: handlers use `req.stashSession`; with the response cache in either order, a page
/// whose handler read the session is never replayed to another client.
@Suite struct VaporSessionTests {
    enum Order: CaseIterable {
        /// The cache for the whole application, sessions on a group inside it.
        case cacheOutside
        /// Sessions for the whole application, the cache on a group inside them (the README's example).
        case sessionsOutside
    }

    static func configure(_ app: Application, store: any Store, order: Order, runs: RunCounter) throws {
        let cache = StashVaporMiddleware(
            ResponseCache(store: try store.withNamespace("response_cache"), configuration: .init(), clock: ManualClock())
        )
        let sessions = StashVaporMiddleware(StashMiddleware.SessionMiddleware(store: try store.withNamespace("sessions")))
        let routes: any RoutesBuilder
        switch order {
        case .cacheOutside: routes = app.grouped(cache).grouped(sessions)
        case .sessionsOutside: routes = app.grouped(sessions).grouped(cache)
        }
        routes.post("login") { req -> String in
            let user = try req.query.get(String.self, at: "user")
            try req.stashSession?.setValue(user, forKey: "user")
            req.stashSession?.regenerateID()
            return "logged in as \(user)"
        }
        routes.get("whoami") { req -> String in
            runs.increment()
            return try req.stashSession?.value(forKey: "user", as: String.self) ?? "anonymous"
        }
        routes.post("logout") { req -> String in
            req.stashSession?.destroy()
            return "bye"
        }
        routes.get("public") { _ in "the same for everyone" }
    }

    @Test(arguments: Order.allCases)
    func aPageThatReadTheSessionIsNeverServedToAnotherClient(order: Order) async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let runs = RunCounter()
            try await withVaporApp { app in
                try Self.configure(app, store: store, order: order, runs: runs)
                let tester = try app.testing()
                let login = try await tester.sendRequest(.POST, "login?user=alice")
                let cookie = try #require(cookiePair(login), "\(name) \(order)")

                let asAlice = try await tester.sendRequest(.GET, "whoami", headers: ["Cookie": cookie])
                #expect(asAlice.body.string == "alice", "\(name) \(order)")
                #expect(asAlice.headers.first(name: .cacheControl) == "private", "\(name) \(order)")
                #expect(asAlice.headers.first(name: .vary) == "Cookie", "\(name) \(order)")
                let anonymous = try await tester.sendRequest(.GET, "whoami")
                #expect(anonymous.body.string == "anonymous", "\(name) \(order): never alice's page")
                #expect(runs.count == 2, "\(name) \(order): both ran their handler")

                _ = try await tester.sendRequest(.GET, "public")
                let publicHit = try await tester.sendRequest(.GET, "public")
                #expect(publicHit.headers.first(name: "Cache-Status")?.hasPrefix("Stash; hit") == true, "\(name) \(order)")
            }
        }
    }

    @Test func loginRegeneratesTheIdAndLogoutClearsTheCookie() async throws {
        let runs = RunCounter()
        let store = MemoryStore()
        try await withVaporApp { app in
            try Self.configure(app, store: store, order: .sessionsOutside, runs: runs)
            let tester = try app.testing()
            let first = try #require(cookiePair(try await tester.sendRequest(.POST, "login?user=alice")))
            let second = try #require(cookiePair(try await tester.sendRequest(.POST, "login?user=bob", headers: ["Cookie": first])))
            #expect(first != second, "a login gives a new id")
            let stale = try await tester.sendRequest(.GET, "whoami", headers: ["Cookie": first])
            #expect(stale.body.string == "anonymous", "the id before the login no longer works")
            let asBob = try await tester.sendRequest(.GET, "whoami", headers: ["Cookie": second])
            #expect(asBob.body.string == "bob")
            let logout = try await tester.sendRequest(.POST, "logout", headers: ["Cookie": second])
            let cleared = try #require(logout.headers.first(name: .setCookie))
            #expect(cleared.contains("Max-Age=0"), "the browser drops the cookie: \(cleared)")
            let after = try await tester.sendRequest(.GET, "whoami", headers: ["Cookie": second])
            #expect(after.body.string == "anonymous")
        }
    }

    @Test func aForgedCookieIsNeverAdopted() async throws {
        try await withVaporApp { app in
            try Self.configure(app, store: MemoryStore(), order: .sessionsOutside, runs: RunCounter())
            let forged = "session=" + String(repeating: "A", count: 43)
            let response = try await app.testing().sendRequest(.GET, "whoami", headers: ["Cookie": forged])
            #expect(response.body.string == "anonymous")
            #expect(response.headers.first(name: .setCookie) == nil, "reading creates no session")
        }
    }
}
