import HTTPTypes
import Stash
import StashMiddleware
import Testing

@Suite struct SessionConfigurationTests {
    typealias Requests = SessionRequests
    typealias Configuration = SessionMiddleware.Configuration

    static func issuedCookie(_ configuration: Configuration) async throws -> (raw: String, cookie: SetCookie) {
        let middleware = SessionMiddleware(store: MemoryStore(), configuration: configuration)
        let response = try await Requests.send(middleware) { try $0.setValue(1, forKey: "n") }
        let raw = try #require(response.head.headerFields[values: .setCookie].first)
        #expect(response.head.headerFields[values: .setCookie].count == 1)
        return (raw, try SetCookie(raw))
    }

    @Test func theDefaultCookieIsHttpOnlyLaxOnTheWholeSiteForTwelveHours() async throws {
        let (raw, cookie) = try await Self.issuedCookie(Configuration())
        #expect(cookie.name == "session")
        #expect(cookie.value.utf8.count == 43)
        #expect(cookie.attributes == ["Max-Age": "43200", "Path": "/", "HttpOnly": String?.none, "SameSite": "Lax"])
        #expect(raw == "session=\(cookie.value); Max-Age=43200; Path=/; HttpOnly; SameSite=Lax")
    }

    @Test func everyAttributeIsAsConfigured() async throws {
        let configuration = try Configuration(
            cookieName: "__Secure-sid",
            path: "/app",
            domain: "example.com",
            secure: true,
            httpOnly: false,
            sameSite: .strict,
            expiry: .fixed(.milliseconds(90_500))
        )
        let (raw, cookie) = try await Self.issuedCookie(configuration)
        #expect(cookie.name == "__Secure-sid")
        // Max-Age rounds a lifetime of 90.5 s up: the cookie never dies before the stored session.
        #expect(cookie.attributes == ["Max-Age": "91", "Path": "/app", "Domain": "example.com", "Secure": String?.none, "SameSite": "Strict"])
        #expect(raw == "__Secure-sid=\(cookie.value); Max-Age=91; Path=/app; Domain=example.com; Secure; SameSite=Strict")

        let none = try await Self.issuedCookie(try Configuration(secure: true, sameSite: .none)).cookie
        #expect(none.attributes["SameSite"] == "None" && none.attributes.keys.contains("Secure"))
    }

    @Test func aRenamedCookieIsTheOnlyOneRead() async throws {
        let store = MemoryStore()
        let middleware = SessionMiddleware(store: store, configuration: try Configuration(cookieName: "sid"))
        let id = try Requests.issuedID(try await Requests.send(middleware) { try $0.setValue("ada", forKey: "user") })
        for (cookies, expected) in [(["sid=\(id)"], id), (["session=\(id)"], nil)] {
            _ = try await middleware.respond(to: Requests.request(cookies: cookies)) { request throws in
                #expect(try #require(request.session).id == expected, "\(cookies)")
                return StashResponse(status: .ok, body: "ok")
            }
        }
    }

    @Test(
        arguments: [
            ("", "/", nil, false, SessionMiddleware.SameSite.lax),
            ("my session", "/", nil, false, .lax),
            ("sess;ion", "/", nil, false, .lax),
            ("séance", "/", nil, false, .lax),
            ("session", "", nil, false, .lax),
            ("session", "app", nil, false, .lax),
            ("session", "/a;b", nil, false, .lax),
            ("session", "/a\nb", nil, false, .lax),
            ("session", "/", "", false, .lax),
            ("session", "/", "exa mple.com", false, .lax),
            ("session", "/", "example.com; Secure", false, .lax),
            ("session", "/", nil, false, .none),
            ("__Secure-session", "/", nil, false, .lax),
            ("__Host-session", "/", nil, false, .lax),
            ("__Host-session", "/app", nil, true, .lax),
            ("__Host-session", "/", "example.com", true, .lax),
        ] as [(String, String, String?, Bool, SessionMiddleware.SameSite)]
    )
    func aCookieBrowsersWouldRejectIsATypedError(
        name: String,
        path: String,
        domain: String?,
        secure: Bool,
        sameSite: SessionMiddleware.SameSite
    )
        throws
    {
        expectInvalidConfiguration {
            try Configuration(cookieName: name, path: path, domain: domain, secure: secure, sameSite: sameSite)
        }
    }

    @Test func theCookiePrefixesAreAcceptedWhenTheirRulesAreKept() throws {
        _ = try Configuration(cookieName: "__Host-session", secure: true)
        _ = try Configuration(cookieName: "__Secure-session", domain: "example.com", secure: true)
    }

    @Test(arguments: [
        SessionExpiry.fixed(.zero),
        .fixed(.seconds(-1)),
        .fixed(StoreLimits.maximumExpiry + .seconds(1)),
        .sliding(.seconds(60), renewingAfter: .zero),
        .sliding(.seconds(60), renewingAfter: .seconds(60)),
        .sliding(.seconds(60), renewingAfter: .seconds(-5)),
    ])
    func anExpiryOutOfRangeIsATypedError(expiry: SessionExpiry) {
        expectInvalidConfiguration { try Configuration(expiry: expiry) }
    }

    @Test func slidingExpiryRenewsAtMostOnceAMinuteOrATenthOfTheLifetime() {
        #expect(SessionExpiry.sliding(.seconds(3600)).renewalInterval == .seconds(60))
        #expect(SessionExpiry.sliding(.seconds(100)).renewalInterval == .seconds(10))
        #expect(SessionExpiry.fixed(.seconds(100)).renewalInterval == nil)
    }

    @Test func theRegistryProvidesTheStoreNamedSessions() async throws {
        let sessions = MemoryStore()
        let registry = StoreRegistry(stores: ["sessions": sessions])
        let middleware = try SessionMiddleware(registry: registry)
        let id = try Requests.issuedID(try await Requests.send(middleware) { try $0.setValue(1, forKey: "n") })
        #expect(try await sessions.exists(SessionID.storeKey(of: id)))

        let custom = MemoryStore()
        try registry.register(custom, named: "web_sessions")
        let named = try SessionMiddleware(registry: registry, configuration: try Configuration(storeName: "web_sessions"))
        let other = try Requests.issuedID(try await Requests.send(named) { try $0.setValue(1, forKey: "n") })
        #expect(try await custom.exists(SessionID.storeKey(of: other)))
        #expect(try await !sessions.exists(SessionID.storeKey(of: other)))
    }
}
