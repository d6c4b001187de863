import HTTPTypes
import NIOCore
import Stash
import StashTestSupport
import Testing

@testable import StashMiddleware

/// Sessions tied to a user, and all of them ended at once ("log out everywhere", a password change), on every store
/// and across two instances, without scanning the sessions.
@Suite struct SessionUserTests {
    typealias Requests = SessionRequests

    /// Logs in as `user` from a fresh browser: the session id the response sets.
    static func logIn(_ middleware: SessionMiddleware, as user: String, id: String? = nil) async throws -> String {
        let response = try await Requests.send(middleware, id: id) { session in
            try session.setValue("dark", forKey: "theme")
            try session.authenticate(as: user)
        }
        return try Requests.issuedID(response)
    }

    /// The user a session id is logged in as, as the next request sees it (`nil`: no session, or none tied).
    static func user(_ middleware: SessionMiddleware, _ id: String) async throws -> String? {
        let seen = UserBox()
        _ = try await Requests.send(middleware, id: id) { session in seen.set(session.userID) }
        return seen.value
    }

    @Test func endingAUsersSessionsEndsThemOnEveryInstanceAndNoOneElses() async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            // Two instances on one store.
            let (first, second) = (SessionMiddleware(store: store), SessionMiddleware(store: store))
            let phone = try await Self.logIn(first, as: "alice")
            let laptop = try await Self.logIn(second, as: "alice")
            let tablet = try await Self.logIn(first, as: "alice")
            let bob = try await Self.logIn(second, as: "bob")
            #expect(try await Self.user(second, phone) == "alice", "\(name)")
            #expect(try await store.record(SessionMiddleware.userIndexKey("alice"))?.count == 3, "\(name): alice's index lists 3 sessions")

            // Logging out of one leaves the index.
            _ = try await Requests.send(first, id: tablet) { $0.destroy() }
            #expect(try await store.record(SessionMiddleware.userIndexKey("alice"))?.count == 2, "\(name)")

            // A password change on the laptop ends the others.
            let ended = try await second.endSessions(ofUser: "alice", except: laptop)
            #expect(ended == 1, "\(name)")
            #expect(try await Self.user(first, phone) == nil, "\(name): the phone is logged out")
            #expect(try await Self.user(first, laptop) == "alice", "\(name): the laptop is kept")
            #expect(try await Self.user(first, bob) == "bob", "\(name): bob's session is none of it")
            #expect(try await store.record(SessionMiddleware.userIndexKey("alice"))?.keys.sorted() == [SessionID.storeKey(of: laptop)])

            #expect(try await first.endSessions(ofUser: "alice") == 1)
            #expect(try await Self.user(second, laptop) == nil, "\(name)")
            #expect(try await store.record(SessionMiddleware.userIndexKey("alice")) == nil, "\(name): the index goes with them")
            #expect(try await first.endSessions(ofUser: "nobody") == 0)
        }
    }

    @Test func aLoginMovesTheSessionToANewIdAndARegeneratedIdKeepsItsPlaceInTheIndex() async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let middleware = SessionMiddleware(store: store)
            let anonymous = try Requests.issuedID(try await Requests.send(middleware) { try $0.setValue(3, forKey: "cart") })
            let loggedIn = try await Self.logIn(middleware, as: "carol", id: anonymous)
            #expect(loggedIn != anonymous, "\(name): a login gets a new id (fixation)")
            #expect(try await Self.user(middleware, anonymous) == nil)
            let cart = UserBox()
            _ = try await Requests.send(middleware, id: loggedIn) { session in
                cart.set(try session.value(forKey: "cart", as: Int.self).map(String.init))
            }
            #expect(cart.value == "3", "\(name): the values come along")

            let regenerated = try Requests.issuedID(try await Requests.send(middleware, id: loggedIn) { $0.regenerateID() })
            #expect(try await Self.user(middleware, regenerated) == "carol", "\(name): a regenerated id stays logged in")
            #expect(try await store.record(SessionMiddleware.userIndexKey("carol"))?.keys.sorted() == [SessionID.storeKey(of: regenerated)])
            #expect(try await middleware.endSessions(ofUser: "carol") == 1)
            #expect(try await Self.user(middleware, regenerated) == nil, "\(name)")

            // A session holding only its user is a session.
            let bare = try Requests.issuedID(try await Requests.send(middleware) { try $0.authenticate(as: "dave") })
            #expect(try await Self.user(middleware, bare) == "dave", "\(name)")
        }
    }

    /// The race the index is built for: the user's sessions are ended after a login joined the index but before it
    /// stored its session. The session deletes itself: a fresh browser gets no cookie, one that had a session gets
    /// its cookie cleared.
    @Test func aLoginRacingTheEndOfItsUsersSessionsIsEndedToo() async throws {
        let counts = CountingStore.Counts()
        let store = CountingStore(MemoryStore(), counts: counts)
        let middleware = SessionMiddleware(store: store)
        @Sendable func endSessionsAtTheNextSessionInsert() {
            counts.beforeInsertRecord.withLock { hook in
                hook = { key in
                    guard !key.hasPrefix("user:") else { return }
                    counts.beforeInsertRecord.withLock { $0 = nil }
                    let ended = try await middleware.endSessions(ofUser: "erin")
                    #expect(ended == 1, "the login's key was in the index")
                }
            }
        }
        endSessionsAtTheNextSessionInsert()
        let fresh = try await Requests.send(middleware) { try $0.authenticate(as: "erin") }
        #expect(try Requests.setCookies(fresh).isEmpty, "no session, so no cookie")
        #expect(try await store.base.keys().collect().isEmpty, "no session, no index")

        let anonymous = try Requests.issuedID(try await Requests.send(middleware) { try $0.setValue(1, forKey: "cart") })
        endSessionsAtTheNextSessionInsert()
        let moved = try await Requests.send(middleware, id: anonymous) { try $0.authenticate(as: "erin") }
        let cookie = try #require(try Requests.setCookies(moved).first)
        #expect(cookie.attributes["Max-Age"] == "0", "the response clears the cookie: \(cookie)")
        #expect(try await store.base.keys().collect().isEmpty, "neither session, nor an index")
    }

    @Test func anIndexGrownPastThirtyTwoDropsSessionsThatEndedByThemselves() async throws {
        let store = MemoryStore()
        let middleware = SessionMiddleware(store: store)
        var ids: [String] = []
        for _ in 0..<33 { ids.append(try await Self.logIn(middleware, as: "frank")) }
        let index = SessionMiddleware.userIndexKey("frank")
        #expect(try await store.record(index)?.count == 33)
        // Two end by themselves (expired, evicted): the next login finds them gone and drops them.
        try await store.delete(SessionID.storeKey(of: ids[0]))
        try await store.delete(SessionID.storeKey(of: ids[1]))
        _ = try await Self.logIn(middleware, as: "frank")
        #expect(try await store.record(index)?.count == 32)
        #expect(try await middleware.endSessions(ofUser: "frank") == 32)
    }

    @Test func aUserIdIsOneToManyBytes() async throws {
        let response = try await Requests.send(SessionMiddleware(store: MemoryStore())) { session in
            #expect(throws: StashMiddlewareError.self) { try session.authenticate(as: "") }
            #expect(throws: StashMiddlewareError.self) { try session.authenticate(as: String(repeating: "x", count: 1025)) }
        }
        #expect(try Requests.setCookies(response).isEmpty)
    }
}

/// A value a handler saw, for the test to read after.
final class UserBox: Sendable {
    private let box = Locked<String?>(nil)
    func set(_ value: String?) { self.box.withLock { $0 = value } }
    var value: String? { self.box.withLock { $0 } }
}
