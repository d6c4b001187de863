import HTTPTypes
import NIOCore
import Stash
import StashMiddleware
import StashTestSupport
import StashTesting
import Testing

@testable import StashPostgres

/// Sessions on PostgreSQL under the load of a browser firing parallel requests: one session, many requests at once.
@Suite struct PostgresSessionTests {
    /// Two instances on one table: logins through both, then every session of the user ended through one, while the
    /// user logs in again; no session of the user survives but those the later logins made.
    @Test func endingAUsersSessionsOnOneInstanceEndsThoseLoggedInOnTheOther() async throws {
        let table = PostgresTestServer.uniqueName("sessions")
        try await withPostgresStore(.testing(table: table)) { first -> Void in
            try await withPostgresStore(.testing(table: table)) { second -> Void in
                let (one, two) = (SessionMiddleware(store: first), SessionMiddleware(store: second))
                var before: [String] = []
                for index in 0..<6 { before.append(try await SessionTraffic.logIn(index.isMultiple(of: 2) ? one : two, as: "alice")) }
                let bob = try await SessionTraffic.logIn(one, as: "bob")
                async let racing = SessionTraffic.logInUnlessEnded(one, as: "alice")
                let ended = try await two.endSessions(ofUser: "alice")
                let late = try await racing
                #expect((6...7).contains(ended), "the six, and the racing login when it came first: \(ended)")
                for id in before {
                    #expect(try await SessionTraffic.user(one, id: id) == nil)
                }
                #expect(try await SessionTraffic.user(two, id: bob) == "bob")
                let index = try await first.record(SessionMiddleware.userIndexKey("alice"), renewingFor: nil)
                if let late, try await SessionTraffic.user(two, id: late) == "alice" {
                    // After the others ended: it is alone in the index.
                    #expect(index?.keys.sorted() == [SessionID.storeKey(of: late)])
                } else {
                    // Ended with the rest (its response set no cookie, or a cookie to a session that is gone).
                    #expect(index == nil)
                }
            }
        }
    }

    @Test func sixtyFourConcurrentRequestsOfOneSessionLoseNoChange() async throws {
        try await withPostgresStore(.testing(table: PostgresTestServer.uniqueName("sessions"))) { store -> Void in
            let middleware = SessionMiddleware(store: store)
            let id = try await SessionTraffic.start(middleware)
            try await SessionTraffic.setKeysConcurrently(middleware, id: id)
            let stored = try await store.record(SessionID.storeKey(of: id), renewingFor: nil)
            let fields = try #require(stored)
            let missing = (0..<64).filter { fields["key\($0)"] != ByteBuffer(string: "\($0)") }
            #expect(missing.isEmpty, "lost keys \(missing)")
            #expect(fields["start"] == ByteBuffer(string: "0"))
        }
    }

    /// An absolute lifetime on PostgreSQL: renewals keep the creation time in the record and are cut short by it;
    /// after it the session is over.
    @Test func anAbsoluteLifetimeEndsABusySession() async throws {
        try await withPostgresStore(.testing(table: PostgresTestServer.uniqueName("sessions"))) { store -> Void in
            let clock = ManualClock()
            let expiry = SessionExpiry.sliding(.seconds(3600), renewingAfter: .seconds(60), endingAfter: .seconds(5000))
            let middleware = SessionMiddleware(store: store, configuration: try .init(expiry: expiry), clock: clock)
            let id = try await SessionTraffic.start(middleware)
            let createdAt = try #require(try await store.record(SessionID.storeKey(of: id), renewingFor: nil)?["\u{0}createdAt"])
            clock.advance(by: .seconds(3000))
            let renewed = try await SessionTraffic.send(middleware, id: id, key: "n", value: 1)
            #expect(renewed.head.headerFields[.setCookie]?.contains("Max-Age=2000;") == true, "5000 - 3000 s left")
            #expect(try await store.record(SessionID.storeKey(of: id), renewingFor: nil)?["\u{0}createdAt"] == createdAt, "kept by the renewal")
            guard case .expiresIn(let left) = try await store.expiry(of: SessionID.storeKey(of: id)) else {
                Issue.record("the session has no expiry")
                return
            }
            #expect(left <= .seconds(2000) && left > .seconds(1900))
            clock.advance(by: .seconds(2000))
            let over = try await SessionTraffic.send(middleware, id: id, key: "n", value: 2)
            let cookie = try #require(over.head.headerFields[.setCookie])
            #expect(!cookie.hasPrefix("session=\(id);"), "a new session, with a new id")
        }
    }
}
