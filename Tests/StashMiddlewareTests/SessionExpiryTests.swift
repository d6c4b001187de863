import HTTPTypes
import Stash
import StashMiddleware
import StashTestSupport
import Testing

@Suite struct SessionExpiryTests {
    typealias Requests = SessionRequests

    static func remaining(_ id: String, in store: any Store) async throws -> Duration {
        guard case .expiresIn(let remaining) = try await store.expiry(of: id) else {
            Issue.record("the session \(id) has no expiry")
            return .zero
        }
        return remaining
    }

    /// Gives a stored session a shorter time to live, so that a renewal shows in the store's expiry.
    static func shorten(_ id: String, in store: any Store, to duration: Duration) async throws {
        #expect(try await store.mergeRecord(id, RecordChanges(expiry: .reset(duration))) == .merged)
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
}
