import Foundation
import HTTPTypes
import NIOCore
import Stash
import StashTestSupport
import Testing

@testable import StashMiddleware

/// A session's values as one `Codable` type: a key per property, written only when changed, so requests that change
/// different properties of one session keep both changes.
@Suite struct SessionDataTests {
    typealias Requests = SessionRequests

    struct Cart: Codable, Equatable {
        var items: [String] = []
        var coupon: String?
        var total: Double = 0
    }

    @Test func typedDataIsOneKeyPerPropertyReadBackAsTheType() async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let middleware = SessionMiddleware(store: store)
            let created = try await Requests.send(middleware) { session in
                try session.updateData(initial: Cart()) { cart in
                    cart.items = ["book", "{\"tricky\": [1, 2]}"]
                    cart.total = 12.5
                }
            }
            let id = try Requests.issuedID(created)
            let fields = try #require(try await store.record(SessionID.storeKey(of: id)))
            #expect(Set(fields.keys.filter { !$0.hasPrefix("\u{0}") }) == ["items", "total"], "\(name): nil properties are not stored")
            _ = try await Requests.send(middleware, id: id) { session throws in
                #expect(try session.data(as: Cart.self) == Cart(items: ["book", "{\"tricky\": [1, 2]}"], coupon: nil, total: 12.5), "\(name)")
                #expect(try session.value(forKey: "items", as: [String].self)?.first == "book", "\(name): each property a value")
            }
        }
    }

    @Test func aRequestWritesOnlyThePropertiesItChangedSoAConcurrentChangeOfAnotherIsKept() async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let middleware = SessionMiddleware(store: store)
            let id = try Requests.issuedID(
                try await Requests.send(middleware) { session in try session.updateData(initial: Cart(items: ["book"])) { $0.total = 10 } }
            )
            let key = SessionID.storeKey(of: id)
            // While this request runs, another one (here: written straight to the store) changes `items`.
            let response = try await middleware.respond(to: Requests.request(cookies: ["session=\(id)"])) { request in
                let session = try #require(request.session)
                _ = try await store.mergeRecord(key, RecordChanges(set: ["items": ByteBuffer(string: "[\"pen\"]")]))
                try session.updateData(initial: Cart()) { $0.coupon = "SAVE10" }
                return StashResponse(status: .ok, body: "ok")
            }
            #expect(response.head.status == .ok)
            _ = try await Requests.send(middleware, id: id) { session throws in
                let cart = try #require(try session.data(as: Cart.self))
                #expect(cart == Cart(items: ["pen"], coupon: "SAVE10", total: 10), "\(name): both changes kept")
            }
        }
    }

    @Test func otherKeysAreLeftAloneAndANilPropertyIsRemoved() async throws {
        let store = MemoryStore()
        let middleware = SessionMiddleware(store: store)
        let id = try Requests.issuedID(try await Requests.send(middleware) { try $0.setValue("token-1", forKey: "csrf") })
        _ = try await Requests.send(middleware, id: id) { session in
            try session.updateData(initial: Cart()) { $0.coupon = "X" }
        }
        _ = try await Requests.send(middleware, id: id) { session in
            #expect(try session.data(as: Cart.self)?.coupon == "X")
            try session.updateData(initial: Cart()) { $0.coupon = nil }
        }
        let fields = try #require(try await store.record(SessionID.storeKey(of: id)))
        #expect(fields["coupon"] == nil && fields["items"] != nil, "the property made nil is removed")
        #expect(fields["csrf"] == ByteBuffer(string: "\"token-1\""), "a key that is not the type's is untouched")
    }

    @Test func dataThatIsNotAnObjectOrDoesNotDecodeIsATypedError() async throws {
        let middleware = SessionMiddleware(store: MemoryStore())
        _ = try await Requests.send(middleware) { session in
            #expect(try session.data(as: Cart.self) == nil, "an empty session has no data")
            let notObject = #expect(throws: StashMiddlewareError.self) { try session.updateData(initial: 5) { $0 += 1 } }
            #expect(notObject?.code == .encodingFailed)
            struct Failure: Error {}
            #expect(throws: Failure.self) { try session.updateData(initial: Cart()) { _ in throw Failure() } }
            #expect(session.isEmpty, "a body that throws changes nothing")
            try session.setValue("not an array", forKey: "items")
            let wrongType = #expect(throws: StashMiddlewareError.self) { try session.data(as: Cart.self) }
            #expect(wrongType?.code == .decodingFailed)
            let notUpdated = #expect(throws: StashMiddlewareError.self) { try session.updateData(initial: Cart()) { $0.coupon = "X" } }
            #expect(notUpdated?.code == .decodingFailed && (try? session.value(forKey: "coupon", as: String.self)) == nil)
        }
    }

    @Test func membersOfAJSONObjectAreSplitWhateverTheyHold() {
        let json = Array(#"{"a":1,"b\"q":"x,}\"y","c":{"d":[1,{"e":"]"}]},"é":null,"f":[]}"#.utf8)
        let members = JSONMembers.split(json)
        #expect(members?["a"] == ByteBuffer(string: "1"))
        #expect(members?["b\"q"] == ByteBuffer(string: #""x,}\"y""#))
        #expect(members?["c"] == ByteBuffer(string: #"{"d":[1,{"e":"]"}]}"#))
        #expect(members?["é"] == ByteBuffer(string: "null") && members?["f"] == ByteBuffer(string: "[]"))
        #expect(JSONMembers.split(Array("{}".utf8)) == [:])
        for bad in ["", "[]", "5", "{\"a\":1", "{\"a\" 1}", "{\"a\":1}x", "{\"a\":\"open}"] {
            #expect(JSONMembers.split(Array(bad.utf8)) == nil, "\(bad)")
        }
    }
}
