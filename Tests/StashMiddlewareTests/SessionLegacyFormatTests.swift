import HTTPTypes
import NIOCore
import Stash
import StashTestSupport
import Testing

@testable import StashMiddleware

/// Sessions stored by Stash 0.x before records (one value in ``SessionRecord``'s version-1 encoding) keep working.
@Suite struct SessionLegacyFormatTests {
    typealias Requests = SessionRequests

    /// Stores a session as the released version did: `create` of the version-1 encoding.
    static func storeLegacy(_ values: [String: String], in store: any Store) async throws -> String {
        let id = SessionID.generate()
        let record = SessionRecord(values: values.mapValues { ByteBuffer(string: "\"\($0)\"") }, renewedAt: 0)
        try await store.create(id, value: record.encoded(), expiresIn: .seconds(3600))
        return id
    }

    @Test func aLegacySessionIsReadAndChangedInItsOwnFormat() async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let middleware = SessionMiddleware(store: store, configuration: try .init(expiry: .fixed(.seconds(3600))))
            let id = try await Self.storeLegacy(["user": "ada", "theme": "dark"], in: store)
            let response = try await Requests.send(middleware, id: id) { session throws in
                #expect(session.id == id, "\(name): the legacy session is adopted")
                #expect(try session.value(forKey: "user", as: String.self) == "ada", "\(name)")
                try session.setValue("light", forKey: "theme")
            }
            #expect(response.head.headerFields[.setCookie] == nil, "\(name): the same session goes on")
            let stored = try #require(try await store.get(id), "\(name)")
            let record = try SessionRecord(decoding: stored)
            #expect(record.values["theme"] == ByteBuffer(string: "\"light\""), "\(name): the change is saved in the legacy form")
            #expect(record.values["user"] == ByteBuffer(string: "\"ada\""), "\(name)")
        }
    }

    @Test func regeneratingALegacySessionMovesItIntoARecord() async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let middleware = SessionMiddleware(store: store)
            let old = try await Self.storeLegacy(["user": "ada"], in: store)
            let response = try await Requests.send(middleware, id: old) { session throws in
                session.regenerateID()
                try session.setValue("admin", forKey: "role")
            }
            let new = try Requests.issuedID(response)
            #expect(new != old, "\(name)")
            #expect(try await store.exists(old) == false, "\(name): the legacy value is gone")
            let fields = try #require(try await store.record(SessionID.storeKey(of: new), renewingFor: nil), "\(name): the session is a record now")
            let record = try SessionRecord(fields: fields)
            #expect(record.values == ["user": ByteBuffer(string: "\"ada\""), "role": ByteBuffer(string: "\"admin\"")], "\(name)")
        }
    }

    @Test func removingTheLastValueOfALegacySessionDeletesIt() async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let middleware = SessionMiddleware(store: store)
            let id = try await Self.storeLegacy(["user": "ada"], in: store)
            let response = try await Requests.send(middleware, id: id) { $0.removeValue(forKey: "user") }
            #expect(try Requests.setCookies(response).first?.attributes["Max-Age"] == "0", "\(name)")
            #expect(try await store.exists(id) == false, "\(name)")
        }
    }
}

/// The session's record: its metadata field is not a value, and no value can take its name.
@Suite struct SessionRecordFieldsTests {
    @Test func theRenewalAndCreationTimesAreMetadataFieldsNoKeyCanTake() async throws {
        let store = MemoryStore()
        let middleware = SessionMiddleware(store: store)
        let id = try SessionRequests.issuedID(try await SessionRequests.send(middleware) { try $0.setValue(1, forKey: "n") })
        let fields = try #require(try await store.record(SessionID.storeKey(of: id), renewingFor: nil))
        #expect(Set(fields.keys) == ["n", SessionRecord.renewedAtField, SessionRecord.createdAtField])
        _ = try await SessionRequests.send(middleware, id: id) { session throws in
            #expect(try session.value(forKey: SessionRecord.createdAtField, as: Int.self) == nil, "metadata is not a value")
            for field in [SessionRecord.renewedAtField, SessionRecord.createdAtField] {
                let error = try #require(throws: StashMiddlewareError.self) { try session.setValue(2, forKey: field) }
                #expect(error.code == .invalidSessionKey)
            }
            let nul = try #require(throws: StashMiddlewareError.self) { try session.setValue(2, forKey: "\u{0}") }
            #expect(nul.code == .invalidSessionKey)
        }
        #expect(
            try await store.record(SessionID.storeKey(of: id), renewingFor: nil)?["n"] == ByteBuffer(string: "1"),
            "a refused key changes nothing"
        )
    }

    @Test func aRecordWithoutItsRenewalTimeIsTreatedAsUnknown() async throws {
        let store = MemoryStore()
        let middleware = SessionMiddleware(store: store)
        let id = SessionID.generate()
        #expect(try await store.insertRecord(id, fields: ["n": ByteBuffer(string: "1")], expiresIn: nil))
        let response = try await SessionRequests.send(middleware, id: id) { session in
            #expect(session.id == nil)
            try session.setValue(2, forKey: "n")
        }
        #expect(try SessionRequests.issuedID(response) != id, "a fresh id, never the unreadable one")
        #expect(try await store.record(id, renewingFor: nil) == ["n": ByteBuffer(string: "1")], "the unreadable record is left alone")
    }
}
