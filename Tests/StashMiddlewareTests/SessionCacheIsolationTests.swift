import HTTPTypes
import NIOCore
import Stash
import StashTestSupport
import StashTesting
import Testing

@testable import StashMiddleware

/// The response cache and sessions together, in either order: a response whose handler read or wrote the session is
/// never replayed to a request with another session or none, and says so to caches downstream.
@Suite struct SessionCacheIsolationTests {
    /// The two ways to stack the middleware.
    enum Order: String, CaseIterable, Sendable {
        /// `cache.wrapping(sessions.wrapping(handler))`: the cache sees what the session middleware returns.
        case cacheOutside
        /// `sessions.wrapping(cache.wrapping(handler))`: the cache stores before the session middleware sees the response.
        case sessionsOutside
    }

    /// An application with a login, a page that shows the session's user, and a page that never touches the session.
    struct Application: Sendable {
        let handler: StashHandler
        let whoamiRuns = RunCounter()
        let publicRuns = RunCounter()

        init(store: any Store, order: Order, cacheControl: String? = nil) throws {
            let cache = ResponseCache(store: try store.withNamespace("response_cache"), configuration: .init(), clock: ManualClock())
            let sessions = SessionMiddleware(store: try store.withNamespace("sessions"))
            let whoamiRuns = self.whoamiRuns
            let publicRuns = self.publicRuns
            let application: StashHandler = { request in
                switch (request.head.method, request.pathWithoutQuery) {
                case (.post, "/login"):
                    let session = try #require(request.session)
                    let user = try #require(request.head.path?.split(separator: "=").last.map(String.init))
                    try session.setValue(user, forKey: "user")
                    session.regenerateID()
                    return StashResponse(status: .ok, body: "logged in as \(user)")
                case (.get, "/whoami"):
                    whoamiRuns.increment()
                    let user = try request.session?.value(forKey: "user", as: String.self) ?? "anonymous"
                    var fields: HTTPFields = [:]
                    if let cacheControl { fields[.cacheControl] = cacheControl }
                    return StashResponse(status: .ok, headerFields: fields, body: user)
                case (.get, "/public"):
                    publicRuns.increment()
                    return StashResponse(status: .ok, body: "the same for everyone")
                default:
                    return StashResponse(status: .notFound, body: "")
                }
            }
            switch order {
            case .cacheOutside: self.handler = cache.wrapping(sessions.wrapping(application))
            case .sessionsOutside: self.handler = sessions.wrapping(cache.wrapping(application))
            }
        }

        func send(_ method: HTTPRequest.Method, _ path: String, cookie: String? = nil) async throws -> StashResponse {
            var fields: HTTPFields = [:]
            if let cookie { fields[.cookie] = cookie }
            return try await self.handler(CacheTest.request(path, method: method, headers: fields))
        }

        /// Logs a user in and returns the `Cookie` value that carries the new session.
        func logIn(_ user: String) async throws -> String {
            let response = try await self.send(.post, "/login?user=\(user)")
            let cookie = try #require(try SessionRequests.setCookies(response).first)
            return "\(cookie.name)=\(cookie.value)"
        }
    }

    static var cases: [(String, any Store, Order)] {
        get throws {
            try TestStores.all().flatMap { name, store in Order.allCases.map { (name, store, $0) } }
        }
    }

    @Test func aPageThatReadTheSessionIsNeverServedToAnotherClient() async throws {
        for (name, store, order) in try Self.cases {
            try await store.deleteAll()
            let app = try Application(store: store, order: order)
            let alice = try await app.logIn("alice")
            let bob = try await app.logIn("bob")

            let asAlice = try await app.send(.get, "/whoami", cookie: alice)
            #expect(CacheTest.body(asAlice) == "alice", "\(name) \(order)")
            let anonymous = try await app.send(.get, "/whoami")
            #expect(CacheTest.body(anonymous) == "anonymous", "\(name) \(order): a request without a session never sees alice's page")
            let asBob = try await app.send(.get, "/whoami", cookie: bob)
            #expect(CacheTest.body(asBob) == "bob", "\(name) \(order): another session never sees alice's page")
            let forged = try await app.send(.get, "/whoami", cookie: "session=" + String(repeating: "A", count: 43))
            #expect(CacheTest.body(forged) == "anonymous", "\(name) \(order): nor does a forged id")
            let aliceAgain = try await app.send(.get, "/whoami", cookie: alice)
            #expect(CacheTest.body(aliceAgain) == "alice", "\(name) \(order)")
            #expect(app.whoamiRuns.count == 5, "\(name) \(order): every request reached the handler")
        }
    }

    @Test func aPageThatReadTheSessionTellsDownstreamCachesNotToStoreIt() async throws {
        for (name, store, order) in try Self.cases {
            try await store.deleteAll()
            // A handler that reads the session yet calls its page public still gets `private`.
            for cacheControl in [nil, "public, max-age=60"] {
                let app = try Application(store: store, order: order, cacheControl: cacheControl)
                let alice = try await app.logIn("alice")
                for cookie in [alice, nil] {
                    let response = try await app.send(.get, "/whoami", cookie: cookie)
                    let directives = CacheControl(response.head.headerFields)
                    #expect(directives.isPrivate, "\(name) \(order) \(cacheControl ?? "-"): Cache-Control private, for shared caches downstream")
                    let vary = response.head.headerFields[values: .vary].flatMap { $0.split(separator: ",") }
                    #expect(vary.contains { $0.trimmingWhitespace().lowercased() == "cookie" }, "\(name) \(order): Vary names Cookie")
                    #expect(response.head.headerFields[values: .cacheControl].count <= 1, "one Cache-Control line")
                }
            }
        }
    }

    @Test func aPageThatNeverTouchesTheSessionStaysCacheable() async throws {
        for (name, store, order) in try Self.cases {
            try await store.deleteAll()
            let app = try Application(store: store, order: order)
            let alice = try await app.logIn("alice")
            let first = try await app.send(.get, "/public", cookie: alice)
            let second = try await app.send(.get, "/public")
            let third = try await app.send(.get, "/public", cookie: alice)
            #expect(app.publicRuns.count == 1, "\(name) \(order): the handler ran once")
            #expect(CacheTest.status(first) == "Stash; fwd=uri-miss; stored", "\(name) \(order)")
            #expect(CacheTest.status(second)?.hasPrefix("Stash; hit") == true && CacheTest.status(third)?.hasPrefix("Stash; hit") == true)
            #expect(first.head.headerFields[.vary] == nil && first.head.headerFields[.cacheControl] == nil, "\(name) \(order): no marking")
        }
    }

    @Test func theCacheSaysWhyItDidNotStoreAPageThatReadTheSession() async throws {
        let store = MemoryStore()
        let app = try Application(store: store, order: .sessionsOutside)
        let response = try await app.send(.get, "/whoami")
        #expect(CacheTest.status(response) == "Stash; fwd=uri-miss; detail=session")
        let outside = try Application(store: MemoryStore(), order: .cacheOutside)
        #expect(CacheTest.status(try await outside.send(.get, "/whoami")) == "Stash; fwd=uri-miss; detail=private")
    }

    @Test func everyWayOfTouchingTheSessionCounts() async throws {
        let touches: [(String, @Sendable (Session) throws -> Void)] = [
            ("id", { _ = $0.id }),
            ("isEmpty", { _ = $0.isEmpty }),
            ("value", { _ = try $0.value(forKey: "user", as: String.self) }),
            ("setValue", { try $0.setValue(1, forKey: "n") }),
            ("removeValue", { $0.removeValue(forKey: "user") }),
            ("regenerateID", { $0.regenerateID() }),
            ("destroy", { $0.destroy() }),
        ]
        for (name, touch) in touches {
            let sessions = SessionMiddleware(store: MemoryStore())
            let response = try await sessions.respond(to: SessionRequests.request()) { request in
                try touch(try #require(request.session))
                return StashResponse(status: .ok, body: "ok")
            }
            #expect(CacheControl(response.head.headerFields).isPrivate, "\(name)")
            #expect(response.head.headerFields[.vary] == "Cookie", "\(name)")
        }
        let untouched = try await SessionRequests.send(SessionMiddleware(store: MemoryStore()))
        #expect(untouched.head.headerFields[.vary] == nil && untouched.head.headerFields[.cacheControl] == nil)
    }

    @Test func theMarkingKeepsWhatTheHandlerSaid() async throws {
        let cases: [(HTTPFields, [String], [String])] = [
            ([:], ["private"], ["Cookie"]),
            ([.cacheControl: "no-store"], ["no-store"], ["Cookie"]),
            ([.cacheControl: "max-age=60, Private"], ["max-age=60, Private"], ["Cookie"]),
            ([.cacheControl: "max-age=60"], ["max-age=60, private"], ["Cookie"]),
            ([.vary: "Accept-Encoding"], ["private"], ["Accept-Encoding, Cookie"]),
            ([.vary: "cookie"], ["private"], ["cookie"]),
            ([.vary: "*"], ["private"], ["*"]),
        ]
        for (fields, cacheControl, vary) in cases {
            let sessions = SessionMiddleware(store: MemoryStore())
            let response = try await sessions.respond(to: SessionRequests.request()) { request in
                _ = request.session?.isEmpty
                return StashResponse(status: .ok, headerFields: fields, body: "ok")
            }
            #expect(response.head.headerFields[values: .cacheControl] == cacheControl, "\(fields)")
            #expect(response.head.headerFields[values: .vary] == vary, "\(fields)")
        }
    }
}
