import HTTPTypes
import NIOCore
import Stash
import StashMiddleware
import StashTestSupport
import Testing

@Suite struct SessionExpiryTests {
    typealias Requests = SessionRequests

    /// The time the session `id` has left in the store (under the hash of its id).
    static func remaining(_ id: String, in store: any Store) async throws -> Duration {
        guard case .expiresIn(let remaining) = try await store.expiry(of: SessionID.storeKey(of: id)) else {
            Issue.record("the session \(id) has no expiry")
            return .zero
        }
        return remaining
    }

    /// Gives a stored session a shorter time to live, so that a renewal shows in the store's expiry.
    static func shorten(_ id: String, in store: any Store, to duration: Duration) async throws {
        #expect(try await store.mergeRecord(SessionID.storeKey(of: id), RecordChanges(expiry: .reset(duration))) == .merged)
    }

    @Test func slidingExpiryRenewsOncePerIntervalAndResendsTheCookie() async throws {
        for (name, base) in try TestStores.all() {
            try await base.deleteAll()
            let store = CountingStore(base)
            let clock = TestWallClock()
            let configuration = try SessionMiddleware.Configuration(expiry: .sliding(.seconds(3600), renewingAfter: .seconds(60)))
            let middleware = SessionMiddleware(store: store, configuration: configuration, clock: clock)
            let id = try Requests.issuedID(try await Requests.send(middleware) { try $0.setValue("ada", forKey: "user") })
            try await Self.shorten(id, in: base, to: .seconds(600))

            // Within the renewal interval: no write, no cookie.
            clock.advance(by: .seconds(30))
            var before = store.counts.snapshot
            let early = try await Requests.send(middleware, id: id) { session throws in
                #expect(try session.value(forKey: "user", as: String.self) == "ada")
            }
            #expect(early.head.headerFields[.setCookie] == nil, "\(name)")
            #expect(store.counts.snapshot.writes == before.writes, "\(name): no renewal before the interval")
            #expect(try await Self.remaining(id, in: base) <= .seconds(600), "\(name)")

            // Past it: one write renews the stored expiry to the full lifetime, and the cookie is sent again.
            clock.advance(by: .seconds(31))
            before = store.counts.snapshot
            let due = try await Requests.send(middleware, id: id) { session throws in
                #expect(try session.value(forKey: "user", as: String.self) == "ada")
            }
            let cookie = try #require(try Requests.setCookies(due).first, "\(name)")
            #expect(cookie.value == id && cookie.attributes["Max-Age"] == "3600", "\(name)")
            #expect(store.counts.snapshot.writes == before.writes + 1, "\(name): one write renews")
            #expect(try await Self.remaining(id, in: base) > .seconds(3500), "\(name)")

            // Just renewed: the next request costs no write again.
            try await Self.shorten(id, in: base, to: .seconds(600))
            before = store.counts.snapshot
            let after = try await Requests.send(middleware, id: id)
            #expect(after.head.headerFields[.setCookie] == nil, "\(name)")
            #expect(store.counts.snapshot.writes == before.writes, "\(name)")

            // A change writes anyway, so it renews within the interval too.
            clock.advance(by: .seconds(5))
            let changed = try await Requests.send(middleware, id: id) { try $0.setValue("grace", forKey: "user") }
            #expect(try Requests.setCookies(changed).first?.attributes["Max-Age"] == "3600", "\(name)")
            #expect(try await Self.remaining(id, in: base) > .seconds(3500), "\(name)")
        }
    }

    @Test func aFixedLifetimeIsKeptWhenTheSessionChanges() async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let middleware = SessionMiddleware(store: store, configuration: try .init(expiry: .fixed(.seconds(3600))))
            let id = try Requests.issuedID(try await Requests.send(middleware) { try $0.setValue(1, forKey: "n") })
            #expect(try await Self.remaining(id, in: store) > .seconds(3500), "\(name): stored for the lifetime")
            try await Self.shorten(id, in: store, to: .seconds(600))
            let changed = try await Requests.send(middleware, id: id) { try $0.setValue(2, forKey: "n") }
            #expect(changed.head.headerFields[.setCookie] == nil, "\(name): a fixed-lifetime cookie is not re-sent")
            #expect(try await Self.remaining(id, in: store) <= .seconds(600), "\(name): a change keeps the expiry")
            _ = try await Requests.send(middleware, id: id) { session throws in #expect(try session.value(forKey: "n", as: Int.self) == 2, "\(name)")
            }
        }
    }

    @Test func aRegeneratedSessionGetsAFullLifetime() async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let middleware = SessionMiddleware(store: store, configuration: try .init(expiry: .fixed(.seconds(3600))))
            let old = try Requests.issuedID(try await Requests.send(middleware) { try $0.setValue(1, forKey: "n") })
            try await Self.shorten(old, in: store, to: .seconds(600))
            let new = try Requests.issuedID(try await Requests.send(middleware, id: old) { $0.regenerateID() })
            #expect(try await Self.remaining(new, in: store) > .seconds(3500), "\(name)")
        }
    }

    /// The value a session record's time fields hold: milliseconds since the epoch, big-endian.
    static func time(_ milliseconds: Int64) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(milliseconds)
        return buffer
    }

    @Test func anAbsoluteLifetimeEndsABusySessionAndALoginDoesNotRestartIt() async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let clock = TestWallClock()
            let expiry = SessionExpiry.sliding(.seconds(3600), renewingAfter: .seconds(60), endingAfter: .seconds(7200))
            let middleware = SessionMiddleware(store: store, configuration: try .init(expiry: expiry), clock: clock)
            let created = try await Requests.send(middleware) { try $0.setValue("ada", forKey: "user") }
            let id = try Requests.issuedID(created)
            #expect(try Requests.setCookies(created).first?.attributes["Max-Age"] == "3600", "\(name)")

            // Busy every half hour: renewed for the full hour until the absolute end is nearer than that.
            for (elapsed, maxAge) in [(1800, "3600"), (3600, "3600"), (5400, "1800")] {
                clock.advance(by: .seconds(1800))
                let renewed = try await Requests.send(middleware, id: id) { session throws in
                    #expect(try session.value(forKey: "user", as: String.self) == "ada", "\(name) at \(elapsed) s")
                }
                #expect(try Requests.setCookies(renewed).first?.attributes["Max-Age"] == maxAge, "\(name) at \(elapsed) s")
            }
            let left = try await Self.remaining(id, in: store)
            #expect(left <= .seconds(1800) && left > .seconds(1700), "\(name): stored no longer than the absolute end")

            // At the absolute end the session is over, however recently it was used.
            clock.advance(by: .seconds(1800))
            let ended = try await Requests.send(middleware, id: id) { session throws in
                #expect(try session.value(forKey: "user", as: String.self) == nil, "\(name): a new, empty session")
            }
            #expect(ended.head.headerFields[.setCookie] == nil, "\(name)")

            // A login (a regenerated id) keeps the creation time: what is left of the absolute lifetime, not more.
            let second = try Requests.issuedID(try await Requests.send(middleware) { try $0.setValue("grace", forKey: "user") })
            clock.advance(by: .seconds(5000))
            let login = try await Requests.send(middleware, id: second) { $0.regenerateID() }
            let cookie = try #require(try Requests.setCookies(login).first)
            #expect(cookie.value != second && cookie.attributes["Max-Age"] == "2200", "\(name): 7200 - 5000 s left")
            #expect(try await Self.remaining(cookie.value, in: store) <= .seconds(2200), "\(name)")
            clock.advance(by: .seconds(2200))
            _ = try await Requests.send(middleware, id: cookie.value) { session throws in
                #expect(try session.value(forKey: "user", as: String.self) == nil, "\(name): over at the first session's end")
            }
        }
    }

    @Test func aSessionStoredWithoutACreationTimeCountsFromItsLastRenewal() async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let clock = TestWallClock()
            let expiry = SessionExpiry.sliding(.seconds(3600), renewingAfter: .seconds(60), endingAfter: .seconds(7200))
            let middleware = SessionMiddleware(store: store, configuration: try .init(expiry: expiry), clock: clock)
            // As a Stash before absolute lifetimes (and hashed keys) stored it: the values and the renewal time only,
            // under the id itself.
            let renewedAt = clock.now.millisecondsSinceEpoch
            let id = "s" + String(repeating: "A", count: 42)
            let fields = ["user": ByteBuffer(string: "\"ada\""), "\u{0}renewedAt": Self.time(renewedAt)]
            #expect(try await store.insertRecord(id, fields: fields, expiresIn: .seconds(3600)))
            clock.advance(by: .seconds(3000))
            let renewed = try await Requests.send(middleware, id: id) { session throws in
                #expect(try session.value(forKey: "user", as: String.self) == "ada", "\(name)")
            }
            #expect(try Requests.setCookies(renewed).first?.attributes["Max-Age"] == "3600", "\(name)")
            let stored = try #require(try await store.record(id))
            #expect(stored["\u{0}createdAt"] == Self.time(renewedAt), "\(name): the renewal keeps when it began")
            clock.advance(by: .seconds(4200))
            _ = try await Requests.send(middleware, id: id) { session throws in
                #expect(try session.value(forKey: "user", as: String.self) == nil, "\(name): 7200 s after that renewal, over")
            }
        }
    }

    @Test func aBrowserSessionCookieHasNoMaxAge() async throws {
        let configuration = try SessionMiddleware.Configuration(expiry: .sliding(.seconds(3600)), browserSessionCookie: true)
        let middleware = SessionMiddleware(store: MemoryStore(), configuration: configuration)
        let created = try await Requests.send(middleware) { try $0.setValue(1, forKey: "n") }
        let cookie = try #require(try Requests.setCookies(created).first)
        #expect(cookie.attributes["Max-Age"] == nil && cookie.attributes["Expires"] == nil)
        #expect(cookie.attributes["HttpOnly"] != nil && cookie.attributes["Path"] == "/")
        let destroyed = try await Requests.send(middleware, id: cookie.value) { $0.destroy() }
        #expect(try Requests.setCookies(destroyed).first?.attributes["Max-Age"] == "0", "clearing still says Max-Age=0")
    }

    @Test func anAbsoluteLifetimeShorterThanTheLifetimeIsAConfigurationError() {
        expectInvalidConfiguration { try SessionMiddleware.Configuration(expiry: .sliding(.seconds(3600), endingAfter: .seconds(1800))) }
        expectInvalidConfiguration {
            try SessionMiddleware.Configuration(expiry: .sliding(.seconds(3600), endingAfter: .seconds(200 * 365 * 86_400)))
        }
        #expect(throws: Never.self) { try SessionMiddleware.Configuration(expiry: .sliding(.seconds(3600), endingAfter: .seconds(3600))) }
    }
}
