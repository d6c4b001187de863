import Foundation
import NIOCore
import Stash
import StashMiddleware
import StashTestSupport
import StashTesting
import StashVapor
import Testing
import Vapor
import VaporTesting

/// Vapor's own sessions and cache, unchanged, on Stash's stores: `SessionsMiddleware` over ``StashSessionDriver``,
/// `req.cache` over ``StashCache``.
@Suite struct VaporDriverTests {
    static func configureSessions(_ app: Application, store: any Store) {
        app.sessions.use(.stash(store))
        let sessions = app.grouped(app.sessions.middleware)
        sessions.post("login") { req -> String in
            req.session.data["user"] = try req.query.get(String.self, at: "user")
            return "ok"
        }
        sessions.get("whoami") { req in req.session.data["user"] ?? "anonymous" }
        sessions.post("logout") { req -> String in
            req.session.destroy()
            return "bye"
        }
    }

    @Test func vaporsSessionsMiddlewareKeepsItsSessionsInTheStore() async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            try await withVaporApp { app in
                Self.configureSessions(app, store: store)
                let tester = try app.testing()
                let login = try await tester.sendRequest(.POST, "login?user=alice")
                let cookie = try #require(cookiePair(login), "\(name)")
                #expect(cookie.hasPrefix("vapor-session="), "\(name)")
                let id = String(cookie.dropFirst("vapor-session=".count))
                #expect(id.utf8.count == 43, "\(name): 256 random bits in base64url")
                // Stored under the hash of its id; Vapor's default cookie lasts a week: so does the stored session.
                let key = StashMiddleware.SessionID.storeKey(of: id)
                #expect(try await store.exists(id) == false, "\(name): the store never holds the id")
                guard case .expiresIn(let remaining) = try await store.expiry(of: key) else {
                    Issue.record("\(name): the session has no expiry")
                    return
                }
                #expect(remaining > .seconds(7 * 86_400 - 60) && remaining <= .seconds(7 * 86_400), "\(name): \(remaining)")

                #expect(try await tester.sendRequest(.GET, "whoami", headers: ["Cookie": cookie]).body.string == "alice", "\(name)")
                #expect(try await tester.sendRequest(.GET, "whoami").body.string == "anonymous", "\(name)")
                let forged = "vapor-session=" + String(repeating: "x", count: 5000)
                let withForged = try await tester.sendRequest(.GET, "whoami", headers: ["Cookie": forged])
                #expect(withForged.status == .ok && withForged.body.string == "anonymous", "\(name): never looked up")

                _ = try await tester.sendRequest(.POST, "logout", headers: ["Cookie": cookie])
                #expect(try await store.get(key) == nil, "\(name): deleted at logout")
                #expect(try await tester.sendRequest(.GET, "whoami", headers: ["Cookie": cookie]).body.string == "anonymous", "\(name)")
            }
        }
    }

    @Test func aStoredSessionThatDoesNotDecodeIsNoSession() async throws {
        let store = MemoryStore()
        try await withVaporApp { app in
            Self.configureSessions(app, store: store)
            let tester = try app.testing()
            let cookie = try #require(cookiePair(try await tester.sendRequest(.POST, "login?user=alice")))
            let id = String(cookie.dropFirst("vapor-session=".count))
            try await store.set(StashMiddleware.SessionID.storeKey(of: id), value: ByteBuffer(string: "{not json"))
            let response = try await tester.sendRequest(.GET, "whoami", headers: ["Cookie": cookie])
            #expect(response.status == .ok && response.body.string == "anonymous")
        }
    }

    @Test func aSessionAnEarlierReleaseStoredUnderItsIdIsStillReadThenMovedUnderTheHash() async throws {
        let store = MemoryStore()
        try await withVaporApp { app in
            Self.configureSessions(app, store: store)
            let tester = try app.testing()
            let id = "V" + String(repeating: "A", count: 42)
            try await store.set(id, encoding: SessionData(initialData: ["user": "grace"]), expiresIn: .seconds(3600))
            let cookie = "vapor-session=" + id
            #expect(try await tester.sendRequest(.GET, "whoami", headers: ["Cookie": cookie]).body.string == "grace")
            _ = try await tester.sendRequest(.POST, "login?user=ada", headers: ["Cookie": cookie])
            #expect(try await store.exists(StashMiddleware.SessionID.storeKey(of: id)), "saved under the hash")
            #expect(try await tester.sendRequest(.GET, "whoami", headers: ["Cookie": cookie]).body.string == "ada", "the hashed copy wins")
            _ = try await tester.sendRequest(.POST, "logout", headers: ["Cookie": cookie])
            #expect(try await store.exists(id) == false, "a logout deletes both copies")
            #expect(try await store.exists(StashMiddleware.SessionID.storeKey(of: id)) == false)
        }
    }

    @Test func vaporsCacheKeepsItsValuesInTheStoreWithTheirExpiry() async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            try await withVaporApp { app in
                app.caches.use(.stash(store))
                app.get("cached") { req -> String in
                    try await req.cache.get("greeting", as: String.self) ?? "none"
                }
                try await app.cache.set("greeting", to: "hello", expiresIn: .seconds(30))
                guard case .expiresIn(let remaining) = try await store.expiry(of: "greeting") else {
                    Issue.record("\(name): no expiry")
                    return
                }
                // Within the 30 s given, whatever the machine's load (the exact figure on a manual clock below).
                #expect(remaining > .zero && remaining <= .seconds(30), "\(name): \(remaining)")
                #expect(try await app.testing().sendRequest(.GET, "cached").body.string == "hello", "\(name): through req.cache")

                try await app.cache.set("forever", to: 42)
                #expect(try await store.expiry(of: "forever") == .never, "\(name)")
                #expect(try await app.cache.get("forever", as: Int.self) == 42, "\(name)")
                await expectStoreError([.conversionFailed], "\(name): another type") {
                    _ = try await app.cache.get("greeting", as: Int.self)
                }
                try await app.cache.delete("greeting")
                #expect(try await app.cache.get("greeting", as: String.self) == nil, "\(name)")
                await expectStoreError([.invalidKey], "\(name): an empty key") {
                    try await app.cache.set("", to: "x")
                }
            }
        }
    }

    @Test func theCachesExpiryIsTheOneGivenToTheMillisecond() async throws {
        let clock = ManualClock()
        let store = MemoryStore(clock: clock)
        try await withVaporApp { app in
            app.caches.use(.stash(store))
            try await app.cache.set("greeting", to: "hello", expiresIn: .seconds(30))
            #expect(try await store.expiry(of: "greeting") == .expiresIn(.milliseconds(30_000)))
            clock.advance(by: .milliseconds(29_999))
            #expect(try await app.cache.get("greeting", as: String.self) == "hello")
            clock.advance(by: .milliseconds(1))
            #expect(try await app.cache.get("greeting", as: String.self) == nil, "gone at 30 s exactly")
        }
    }
}
