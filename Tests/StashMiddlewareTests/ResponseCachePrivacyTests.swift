import HTTPTypes
import NIOCore
import Stash
import StashTestSupport
import StashTesting
import Testing

@testable import StashMiddleware

@Suite struct ResponseCachePrivacyTests {
    /// Asks twice, as two clients; the second must never see the first one's response.
    private static func secondClientGetsItsOwnResponse(
        _ cache: ResponseCache,
        fields: HTTPFields,
        requestHeaders: HTTPFields = [:],
        path: String
    ) async throws -> (first: StashResponse, second: StashResponse) {
        let origin = CountingOrigin.with(fields)
        let first = try await cache.respond(to: CacheTest.request(path, headers: requestHeaders), next: origin.handler)
        let second = try await cache.respond(to: CacheTest.request(path), next: origin.handler)
        #expect(origin.count == 2 && CacheTest.body(second) == "run 2", "\(path): the second client ran the handler")
        return (first, second)
    }

    @Test func responsesForOneUserAreNeverServedToAnother() async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let cache = CacheTest.cache(store)
            let cases: [(String, HTTPFields, HTTPFields, String)] = [
                ("/cookie", [.setCookie: "session=abc; HttpOnly"], [:], "set-cookie"),
                ("/private", [.cacheControl: "max-age=60, PRIVATE"], [:], "private"),
                ("/private-fields", [.cacheControl: "private=\"X-User\", max-age=60"], [:], "private"),
                ("/no-store", [.cacheControl: "No-Store"], [:], "no-store"),
                ("/authorized", [:], [.authorization: "Bearer alice"], "authorization"),
                ("/authorized-max-age", [.cacheControl: "max-age=60"], [.authorization: "Bearer alice"], "authorization"),
                ("/vary-star", [.vary: "Accept, *"], [:], "vary"),
                ("/request-no-store", [:], [.cacheControl: "no-store"], "request-no-store"),
            ]
            for (path, fields, requestHeaders, detail) in cases {
                let (first, _) = try await Self.secondClientGetsItsOwnResponse(cache, fields: fields, requestHeaders: requestHeaders, path: path)
                #expect(CacheTest.status(first) == "Stash; fwd=uri-miss; detail=\(detail)", "\(name) \(path)")
            }
        }
    }

    @Test func aResponseFilterKeepsOutWhatItRefusesAndCannotLetInWhatTheRulesForbid() async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            // Store only responses that say they are complete, and never for /admin.
            let cache = CacheTest.cache(store) { configuration in
                configuration.responseFilter = { request, response in
                    !request.pathWithoutQuery.hasPrefix("/admin") && response.head.headerFields[HTTPField.Name("X-Complete")!] == "yes"
                }
            }
            let complete: HTTPFields = [HTTPField.Name("X-Complete")!: "yes"]
            let cases: [(String, HTTPFields, Int, String?)] = [
                ("/report", complete, 1, nil),
                ("/partial", [HTTPField.Name("X-Complete")!: "no"], 2, "Stash; fwd=uri-miss; detail=filter"),
                ("/admin/report", complete, 2, "Stash; fwd=uri-miss; detail=filter"),
            ]
            for (path, fields, runs, detail) in cases {
                let origin = CountingOrigin.with(fields)
                let first = try await cache.respond(to: CacheTest.request(path), next: origin.handler)
                _ = try await cache.respond(to: CacheTest.request(path), next: origin.handler)
                #expect(origin.count == runs, "\(name) \(path)")
                if let detail { #expect(CacheTest.status(first) == detail, "\(name) \(path)") }
            }
            // A filter that says yes to everything cannot store what the rules keep out.
            let permissive = CacheTest.cache(store) { $0.responseFilter = { _, _ in true } }
            let (first, _) = try await Self.secondClientGetsItsOwnResponse(permissive, fields: [.setCookie: "session=abc"], path: "/cookie-2")
            #expect(CacheTest.status(first) == "Stash; fwd=uri-miss; detail=set-cookie", "\(name)")
        }
    }

    @Test func anExplicitlyPublicAnswerToAnAuthorizedRequestIsCached() async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let cache = CacheTest.cache(store)
            for (path, cacheControl) in [("/public", "Public"), ("/shared", "s-maxage=30")] {
                let origin = CountingOrigin.with([.cacheControl: cacheControl])
                _ = try await cache.respond(to: CacheTest.request(path, headers: [.authorization: "Bearer alice"]), next: origin.handler)
                let second = try await cache.respond(to: CacheTest.request(path), next: origin.handler)
                #expect(origin.count == 1 && CacheTest.body(second) == "run 1", "\(name) \(path)")
            }
        }
    }

    @Test func varyVariantsAreKeptApart() async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let cache = CacheTest.cache(store)
            let origin = CountingOrigin { request, run in
                let language = request.head.headerFields[.acceptLanguage] ?? "none"
                return StashResponse(status: .ok, headerFields: [.vary: "accept-language, Accept-Encoding"], body: "\(language) \(run)")
            }
            func get(_ headers: HTTPFields) async throws -> StashResponse {
                try await cache.respond(to: CacheTest.request("/v", headers: headers), next: origin.handler)
            }
            #expect(CacheTest.body(try await get([.acceptLanguage: "en"])) == "en 1", "\(name)")
            #expect(CacheTest.body(try await get([.acceptLanguage: "fr"])) == "fr 2", "\(name)")
            #expect(CacheTest.body(try await get([:])) == "none 3", "\(name)")
            #expect(CacheTest.body(try await get([.acceptLanguage: ""])) == " 4", "\(name): an empty field is not a missing one")
            #expect(CacheTest.body(try await get([.acceptLanguage: "fr", .acceptEncoding: "gzip"])) == "fr 5", "\(name)")
            let en = try await get([.acceptLanguage: "en"])
            #expect(CacheTest.body(en) == "en 1" && CacheTest.status(en) == "Stash; hit; ttl=60", "\(name)")
            #expect(CacheTest.body(try await get([.acceptLanguage: "fr"])) == "fr 2", "\(name)")
            #expect(CacheTest.body(try await get([:])) == "none 3", "\(name)")
            #expect(origin.count == 5, "\(name)")
        }
    }

    @Test func requestNoCacheIsIgnoredUnlessHonoured() async throws {
        let store = MemoryStore()
        let origin = CountingOrigin()
        let ignoring = CacheTest.cache(store)
        _ = try await ignoring.respond(to: CacheTest.request(), next: origin.handler)
        let ignored = try await ignoring.respond(to: CacheTest.request(headers: [.cacheControl: "no-cache"]), next: origin.handler)
        #expect(origin.count == 1 && CacheTest.status(ignored) == "Stash; hit; ttl=60")
        let honouring = CacheTest.cache(store) { $0.honorsRequestNoCache = true }
        let refreshed = try await honouring.respond(to: CacheTest.request(headers: [.cacheControl: "NO-CACHE"]), next: origin.handler)
        #expect(origin.count == 2 && CacheTest.status(refreshed) == "Stash; fwd=request; stored")
        let after = try await honouring.respond(to: CacheTest.request(), next: origin.handler)
        #expect(CacheTest.body(after) == "run 2", "the refreshed response replaced the old one")
    }

    @Test func responseFreshnessSetsTheLifetimeWhenAskedTo() async throws {
        let clock = ManualClock()
        let cache = CacheTest.cache(MemoryStore(), clock: clock) { $0.mode = .responseHeaders }
        let cases: [(String, String, String)] = [
            ("/s", "max-age=100, s-maxage=20", "Stash; hit; ttl=20"),
            ("/m", "public, max-age=\"30\"", "Stash; hit; ttl=30"),
        ]
        for (path, cacheControl, status) in cases {
            let origin = CountingOrigin.with([.cacheControl: cacheControl])
            _ = try await cache.respond(to: CacheTest.request(path), next: origin.handler)
            let hit = try await cache.respond(to: CacheTest.request(path), next: origin.handler)
            #expect(CacheTest.status(hit) == status, "\(cacheControl)")
        }
        for (path, cacheControl, detail) in [
            ("/zero", "max-age=0", "max-age"), ("/nc", "No-Cache", "no-cache"), ("/s0", "s-maxage=0, max-age=9", "max-age"),
            // No freshness of its own and no validator: not stored, whatever the configured lifetime.
            ("/garbage", "max-age=abc, , ;;, foo=\"a,b\"", "no-freshness"), ("/public", "public", "no-freshness"),
        ] {
            let origin = CountingOrigin.with([.cacheControl: cacheControl])
            let first = try await cache.respond(to: CacheTest.request(path), next: origin.handler)
            #expect(CacheTest.status(first) == "Stash; fwd=uri-miss; detail=\(detail)", "\(cacheControl)")
            _ = try await cache.respond(to: CacheTest.request(path), next: origin.handler)
            #expect(origin.count == 2, "\(cacheControl): the handler is asked again")
        }
    }

    /// The handler's own "do not reuse me unchecked", in every mode: `no-cache`, `max-age=0`, `s-maxage=0`.
    static let doNotReuse: [(path: String, cacheControl: String, detail: String)] = [
        ("/no-cache", "No-Cache", "no-cache"),
        ("/no-cache-fields", "no-cache=\"Set-Cookie\", max-age=60", "no-cache"),
        ("/max-age-0", "max-age=0", "max-age"),
        ("/s-maxage-0", "s-maxage=0, max-age=60", "max-age"),
    ]

    @Test func aResponsesOwnNoCacheOrZeroMaxAgeIsHonouredByDefault() async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            for usesResponseFreshness in [false, true] {
                let cache = CacheTest.cache(store) { $0.mode = usesResponseFreshness ? .responseHeaders : .configuredLifetimes }
                for (path, cacheControl, detail) in Self.doNotReuse {
                    let origin = CountingOrigin.with([.cacheControl: cacheControl])
                    let first = try await cache.respond(to: CacheTest.request(path), next: origin.handler)
                    #expect(CacheTest.status(first) == "Stash; fwd=uri-miss; detail=\(detail)", "\(name) \(cacheControl) \(usesResponseFreshness)")
                    let second = try await cache.respond(to: CacheTest.request(path), next: origin.handler)
                    #expect(CacheTest.body(second) == "run 2", "\(name) \(cacheControl) \(usesResponseFreshness): the handler is asked again")
                }
                // A shared cache goes by s-maxage first: a positive one allows storing despite max-age=0.
                let shared = CountingOrigin.with([.cacheControl: "max-age=0, s-maxage=30"])
                _ = try await cache.respond(to: CacheTest.request("/shared-\(usesResponseFreshness)"), next: shared.handler)
                let hit = try await cache.respond(to: CacheTest.request("/shared-\(usesResponseFreshness)"), next: shared.handler)
                #expect(shared.count == 1, "\(name): s-maxage=30 wins over max-age=0 for a shared cache")
                #expect(CacheTest.status(hit) == (usesResponseFreshness ? "Stash; hit; ttl=30" : "Stash; hit; ttl=60"))
            }
        }
    }

    @Test func theRouteLifetimeWinsOverTheHandlersHeadersOnlyWhenAskedTo() async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            for mode in [ResponseCache.Mode.configuredLifetimes, .responseHeaders] {
                let cache = CacheTest.cache(store) {
                    $0.honorsResponseNoCache = false
                    $0.mode = mode
                    $0.lifetime = .seconds(120)
                }
                for (path, cacheControl, detail) in Self.doNotReuse {
                    let origin = CountingOrigin.with([.cacheControl: cacheControl])
                    let first = try await cache.respond(to: CacheTest.request(path + "-\(mode)"), next: origin.handler)
                    let second = try await cache.respond(to: CacheTest.request(path + "-\(mode)"), next: origin.handler)
                    if mode == .configuredLifetimes {
                        #expect(CacheTest.status(first) == "Stash; fwd=uri-miss; stored", "\(name) \(cacheControl)")
                        #expect(origin.count == 1 && CacheTest.body(second) == "run 1", "\(name) \(cacheControl): replayed")
                        #expect(CacheTest.status(second) == "Stash; hit; ttl=120", "\(name) \(cacheControl)")
                    } else {
                        // Following the response's headers, the configured lifetime never wins over them.
                        #expect(CacheTest.status(first) == "Stash; fwd=uri-miss; detail=\(detail)", "\(name) \(cacheControl)")
                        #expect(origin.count == 2, "\(name) \(cacheControl): the handler is asked again")
                    }
                }
            }
            // Opting out never stores what is private or no-store.
            let cache = CacheTest.cache(store) { $0.honorsResponseNoCache = false }
            for cacheControl in ["no-cache, private", "no-store, max-age=0"] {
                let origin = CountingOrigin.with([.cacheControl: cacheControl])
                _ = try await cache.respond(to: CacheTest.request("/kept-out"), next: origin.handler)
                _ = try await cache.respond(to: CacheTest.request("/kept-out"), next: origin.handler)
                #expect(origin.count == 2, "\(name) \(cacheControl)")
            }
        }
    }

    @Test func cacheControlParsingIsCaseInsensitiveAndSurvivesGarbage() {
        let parsed = CacheControl(parsing: "  PUBLIC ,Max-Age=12,S-MAXAGE = \"7\",private=\"Set-Cookie, X\" , no-STORE")
        #expect(parsed.isPublic && parsed.isPrivate && parsed.noStore && !parsed.noCache)
        #expect(parsed.maxAge == 12 && parsed.sharedMaxAge == 7)
        let garbage = CacheControl(parsing: "max-age=abc, max-age=-5, s-maxage=99999999999999999999999, \"unterminated, no-cache")
        #expect(garbage.maxAge == nil)
        #expect(garbage.sharedMaxAge == .max)
        #expect(!garbage.noCache, "inside an unterminated quoted string")
        for junk in ["", ",,,", "=", "=\"", "\\", "max-age=", "max-age=\"\\", ";;;no-store"] {
            let directives = CacheControl(parsing: junk)
            #expect(directives.maxAge == nil && !directives.isPublic, "\(junk)")
        }
        #expect(CacheControl(parsing: "max-age=10, max-age=5").maxAge == 5, "the smaller of two")
        #expect(CacheControl(parsing: "no-cache=\"Set-Cookie\"").noCache)
    }
}
