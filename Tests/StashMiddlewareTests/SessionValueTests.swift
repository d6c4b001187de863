import HTTPTypes
import Stash
import StashMiddleware
import StashTestSupport
import Synchronization
import Testing

@Suite struct SessionValueTests {
    typealias Requests = SessionRequests

    struct Profile: Codable, Equatable {
        var name: String
        var age: Int
        var roles: [String]
        var manager: String?
    }

    static let profile = Profile(name: "Ada Lovelace 👩‍💻", age: 36, roles: ["admin", "analyst"], manager: nil)

    @Test func typedValuesRoundTripThroughEveryStore() async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let middleware = SessionMiddleware(store: store)
            let response = try await Requests.send(middleware) { session in
                try session.setValue(42, forKey: "int")
                try session.setValue(-0.25, forKey: "double")
                try session.setValue(true, forKey: "bool")
                try session.setValue("naïve ☕️ \"quoted\"\n", forKey: "string")
                try session.setValue([3, 1, 2], forKey: "array")
                try session.setValue(["b": 2, "a": 1], forKey: "dictionary")
                try session.setValue(Self.profile, forKey: "profile")
                try session.setValue(Int.max, forKey: "ключ 🔑")
                // Read back within the request, before anything is stored.
                #expect(try session.value(forKey: "profile", as: Profile.self) == Self.profile)
            }
            let id = try Requests.issuedID(response)
            _ = try await Requests.send(middleware, id: id) { session throws in
                #expect(try session.value(forKey: "int", as: Int.self) == 42, "\(name)")
                #expect(try session.value(forKey: "double", as: Double.self) == -0.25, "\(name)")
                #expect(try session.value(forKey: "bool", as: Bool.self) == true, "\(name)")
                #expect(try session.value(forKey: "string", as: String.self) == "naïve ☕️ \"quoted\"\n", "\(name)")
                #expect(try session.value(forKey: "array", as: [Int].self) == [3, 1, 2], "\(name)")
                #expect(try session.value(forKey: "dictionary", as: [String: Int].self) == ["b": 2, "a": 1], "\(name)")
                #expect(try session.value(forKey: "profile", as: Profile.self) == Self.profile, "\(name)")
                #expect(try session.value(forKey: "ключ 🔑", as: Int.self) == Int.max, "\(name)")
                let inferred: Profile? = try session.value(forKey: "profile")
                #expect(inferred == Self.profile, "\(name): the type can be inferred")
                #expect(try session.value(forKey: "missing", as: Int.self) == nil, "\(name)")
            }
        }
    }

    @Test func aValueOfAnotherTypeIsADecodingError() async throws {
        let middleware = SessionMiddleware(store: MemoryStore())
        _ = try await Requests.send(middleware) { session in
            try session.setValue(Self.profile, forKey: "profile")
            let error = try #require(throws: StashMiddlewareError.self) { try session.value(forKey: "profile", as: Int.self) }
            #expect(error.code == .decodingFailed)
        }
    }

    @Test func badKeysAndUnencodableValuesAreTypedErrorsThatChangeNothing() async throws {
        let store = CountingStore(MemoryStore())
        let middleware = SessionMiddleware(store: store)
        let response = try await Requests.send(middleware) { session in
            for key in ["", String(repeating: "k", count: Session.maximumKeyLength + 1)] {
                let error = try #require(throws: StashMiddlewareError.self) { try session.setValue(1, forKey: key) }
                #expect(error.code == .invalidSessionKey)
            }
            let error = try #require(throws: StashMiddlewareError.self) { try session.setValue(Double.nan, forKey: "nan") }
            #expect(error.code == .encodingFailed)
            #expect(session.isEmpty && session.id == nil)
            try session.setValue(1, forKey: String(repeating: "k", count: Session.maximumKeyLength))
        }
        let id = try Requests.issuedID(response)
        _ = try await Requests.send(middleware, id: id) { session throws in
            #expect(try session.value(forKey: String(repeating: "k", count: Session.maximumKeyLength), as: Int.self) == 1)
        }
    }

    @Test func aStoreThatFailsFailsTheRequestWithItsError() async throws {
        let store = CountingStore(MemoryStore())
        let middleware = SessionMiddleware(store: store)
        let id = try Requests.issuedID(try await Requests.send(middleware) { try $0.setValue(1, forKey: "n") })
        store.counts.isFailing.store(true, ordering: .relaxed)
        let error = try await #require(throws: StoreError.self) {
            try await Requests.send(middleware, id: id) { _ in Issue.record("the handler must not run without its session") }
        }
        #expect(error.code == .unavailable)
        // Without a cookie the store is not needed.
        let response = try await Requests.send(middleware)
        #expect(response.head.status == .ok)
    }

    @Test func theRequestCarriesNoSessionWithoutTheMiddleware() {
        #expect(Requests.request().session == nil)
    }
}
