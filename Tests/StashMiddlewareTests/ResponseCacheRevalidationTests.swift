import HTTPTypes
import NIOCore
import Stash
import StashTestSupport
import StashTesting
import Testing

@testable import StashMiddleware

/// A handler for one resource that answers conditional requests as an origin does: 304 when `If-None-Match` names
/// its current `ETag` (or, without one, `If-Modified-Since` is no earlier than its `Last-Modified`), else the whole
/// response. It records the preconditions each run received.
final class VersionedOrigin: Sendable {
    struct State {
        var version = 1
        var runs = 0
        var received: [(ifNoneMatch: String?, ifModifiedSince: String?)] = []
    }

    let state = Locked(State())
    /// The fields every answer has, 304s included.
    let fields: HTTPFields
    /// What a 304 says instead of the current validators, when set: the 304 of a confused origin.
    let notModifiedFields: HTTPFields?
    let usesETag: Bool

    init(fields: HTTPFields, usesETag: Bool = true, notModifiedFields: HTTPFields? = nil) {
        self.fields = fields
        self.usesETag = usesETag
        self.notModifiedFields = notModifiedFields
    }

    var runs: Int { self.state.withLock { $0.runs } }
    var received: [(ifNoneMatch: String?, ifModifiedSince: String?)] { self.state.withLock { $0.received } }

    func change() {
        self.state.withLock { $0.version += 1 }
    }

    static func lastModified(_ version: Int) -> String {
        "Sat, 0\(version) Dec 2026 10:00:00 GMT"
    }

    var handler: StashHandler {
        { request in
            let fields = request.head.headerFields
            let (version, run) = self.state.withLock { state in
                state.runs += 1
                state.received.append((fields[.ifNoneMatch], fields[.ifModifiedSince]))
                return (state.version, state.runs)
            }
            var validators: HTTPFields = [:]
            if self.usesETag { validators[.eTag] = "\"v\(version)\"" } else { validators[.lastModified] = Self.lastModified(version) }
            var answer = self.fields
            let current =
                self.usesETag
                ? fields[.ifNoneMatch] == "\"v\(version)\"" : fields[.ifModifiedSince] == Self.lastModified(version)
            if current {
                answer.append(contentsOf: self.notModifiedFields ?? validators)
                answer[.xRun] = "\(run)"
                return StashResponse(head: HTTPResponse(status: .notModified, headerFields: answer))
            }
            answer.append(contentsOf: validators)
            answer[.xRun] = "\(run)"
            return StashResponse(status: .ok, headerFields: answer, body: "version \(version)")
        }
    }
}

extension HTTPField.Name {
    static let xRun = HTTPField.Name("X-Run")!
}

/// RFC 9111 §4.3: a stale stored response with a validator is revalidated through the handler, and a 304 refreshes it.
@Suite struct ResponseCacheRevalidationTests {
    static func cache(_ store: any Store, clock: ManualClock, mode: ResponseCache.Mode = .responseHeaders) -> ResponseCache {
        CacheTest.cache(store, clock: clock) {
            $0.mode = mode
            $0.lifetime = .seconds(10)
        }
    }

    @Test(arguments: [ResponseCache.Mode.responseHeaders, .configuredLifetimes])
    func aStaleResponseIsRevalidatedAndA304RefreshesIt(mode: ResponseCache.Mode) async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let clock = ManualClock()
            let cache = Self.cache(store, clock: clock, mode: mode)
            let origin = VersionedOrigin(fields: [.cacheControl: "max-age=10", .contentType: "text/plain"])
            _ = try await cache.respond(to: CacheTest.request(), next: origin.handler)
            clock.advance(by: .seconds(15))

            let revalidated = try await cache.respond(to: CacheTest.request(), next: origin.handler)
            #expect(origin.received.last?.ifNoneMatch == "\"v1\"", "\(name): the handler is asked whether its v1 changed")
            #expect(revalidated.head.status == .ok && CacheTest.body(revalidated) == "version 1", "\(name): the stored body")
            #expect(CacheTest.status(revalidated) == "Stash; fwd=stale; fwd-status=304; stored", "\(name)")
            #expect(revalidated.head.headerFields[.xRun] == "2", "\(name): the 304's fields replace the stored ones")
            #expect(revalidated.head.headerFields[values: .xRun].count == 1, "\(name)")
            #expect(revalidated.head.headerFields[.contentType] == "text/plain", "\(name): the others are kept")
            #expect(revalidated.head.headerFields[.age] == "0", "\(name): its age counts from the 304")

            let hit = try await cache.respond(to: CacheTest.request(), next: origin.handler)
            #expect(CacheTest.status(hit) == "Stash; hit; ttl=10" && origin.runs == 2, "\(name): fresh again")
            #expect(CacheTest.body(hit) == "version 1" && hit.head.headerFields[.xRun] == "2", "\(name)")

            // Once the resource changes, the next revalidation gets and stores the whole new response.
            origin.change()
            clock.advance(by: .seconds(11))
            let replaced = try await cache.respond(to: CacheTest.request(), next: origin.handler)
            #expect(origin.received.last?.ifNoneMatch == "\"v1\"", "\(name)")
            #expect(CacheTest.body(replaced) == "version 2" && CacheTest.status(replaced) == "Stash; fwd=stale; stored", "\(name)")
            let newHit = try await cache.respond(to: CacheTest.request(), next: origin.handler)
            #expect(CacheTest.body(newHit) == "version 2" && origin.runs == 3, "\(name)")
        }
    }

    @Test func lastModifiedIsSentAsIfModifiedSince() async throws {
        let clock = ManualClock()
        let cache = Self.cache(MemoryStore(), clock: clock)
        let origin = VersionedOrigin(fields: [.cacheControl: "max-age=10"], usesETag: false)
        _ = try await cache.respond(to: CacheTest.request(), next: origin.handler)
        clock.advance(by: .seconds(11))
        let revalidated = try await cache.respond(to: CacheTest.request(), next: origin.handler)
        #expect(origin.received.last?.ifModifiedSince == VersionedOrigin.lastModified(1))
        #expect(origin.received.last?.ifNoneMatch == nil)
        #expect(CacheTest.status(revalidated) == "Stash; fwd=stale; fwd-status=304; stored")
        #expect(CacheTest.body(revalidated) == "version 1")
    }

    @Test func theClientsPreconditionsAreAnsweredFromTheRefreshedResponse() async throws {
        let clock = ManualClock()
        let cache = Self.cache(MemoryStore(), clock: clock)
        let origin = VersionedOrigin(fields: [.cacheControl: "max-age=10"])
        _ = try await cache.respond(to: CacheTest.request(), next: origin.handler)
        clock.advance(by: .seconds(11))
        // The client holds v1 and says so, with a list the handler would not understand: the cache asks with its own.
        let request = CacheTest.request(headers: [.ifNoneMatch: "\"v0\", W/\"v1\"", .ifModifiedSince: "garbage"])
        let response = try await cache.respond(to: request, next: origin.handler)
        #expect(origin.received.last?.ifNoneMatch == "\"v1\"" && origin.received.last?.ifModifiedSince == nil)
        #expect(response.head.status == .notModified && response.body.readableBytes == 0)
        #expect(response.head.headerFields[.eTag] == "\"v1\"")
    }

    @Test func a304AboutAnotherResponseIsNotUsedAndTheHandlerIsAskedAgain() async throws {
        let cases: [(String, HTTPFields, Bool)] = [
            ("another ETag", [.eTag: "\"v9\""], true),
            ("another Last-Modified", [.lastModified: "Sun, 01 Jan 2023 00:00:00 GMT"], true),
            ("a garbage ETag", [.eTag: "v1"], true),
            ("no validator: it answers the cache's own request", [:], false),
        ]
        for (name, notModifiedFields, asksAgain) in cases {
            let clock = ManualClock()
            let cache = Self.cache(MemoryStore(), clock: clock)
            let origin = VersionedOrigin(fields: [.cacheControl: "max-age=10"], notModifiedFields: notModifiedFields)
            _ = try await cache.respond(to: CacheTest.request(), next: origin.handler)
            clock.advance(by: .seconds(11))
            let response = try await cache.respond(to: CacheTest.request(), next: origin.handler)
            #expect(response.head.status == .ok && CacheTest.body(response) == "version 1", "\(name)")
            if asksAgain {
                #expect(origin.runs == 3, "\(name): asked again")
                #expect(origin.received.last.map { $0.ifNoneMatch == nil && $0.ifModifiedSince == nil } == true, "\(name): unconditionally")
                #expect(CacheTest.status(response) == "Stash; fwd=stale; stored", "\(name)")
                #expect(response.head.headerFields[.eTag] == "\"v1\"", "\(name): the full response is stored")
            } else {
                #expect(origin.runs == 2, "\(name)")
                #expect(CacheTest.status(response) == "Stash; fwd=stale; fwd-status=304; stored", "\(name)")
            }
        }
    }

    @Test func a304WithoutAStoredResponseIsPassedOnAndNeverStored() async throws {
        let cache = Self.cache(MemoryStore(), clock: ManualClock())
        let origin = VersionedOrigin(fields: [.cacheControl: "max-age=10"])
        let request = CacheTest.request(headers: [.ifNoneMatch: "\"v1\""])
        let first = try await cache.respond(to: request, next: origin.handler)
        #expect(first.head.status == .notModified && CacheTest.status(first) == "Stash; fwd=uri-miss; detail=status")
        let second = try await cache.respond(to: CacheTest.request(), next: origin.handler)
        #expect(CacheTest.body(second) == "version 1" && CacheTest.status(second) == "Stash; fwd=uri-miss; stored")
    }

    @Test func aResponseWithOnlyAValidatorOrNoCacheIsStoredToBeRevalidatedBeforeEveryUse() async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            for (path, fields) in [("/only-validator", [.contentType: "text/plain"]), ("/no-cache", [.cacheControl: "no-cache, max-age=60"])]
                as [(String, HTTPFields)]
            {
                let clock = ManualClock()
                let cache = Self.cache(store, clock: clock)
                let origin = VersionedOrigin(fields: fields)
                let first = try await cache.respond(to: CacheTest.request(path), next: origin.handler)
                #expect(CacheTest.status(first) == "Stash; fwd=uri-miss; stored", "\(name) \(path)")
                for run in 2...3 {
                    let again = try await cache.respond(to: CacheTest.request(path), next: origin.handler)
                    #expect(origin.runs == run && origin.received.last?.ifNoneMatch == "\"v1\"", "\(name) \(path): revalidated every time")
                    #expect(CacheTest.status(again) == "Stash; fwd=stale; fwd-status=304; stored", "\(name) \(path)")
                    #expect(CacheTest.body(again) == "version 1", "\(name) \(path)")
                }
            }
        }
    }

    @Test(arguments: ["max-age=10, must-revalidate", "max-age=10, Proxy-Revalidate", "no-cache"])
    func aResponseThatMustBeRevalidatedIsNeverServedStaleAndItsRevalidationsAreCoalesced(cacheControl: String) async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let clock = ManualClock()
            let cache = CacheTest.cache(store, clock: clock) {
                $0.mode = .responseHeaders
                $0.staleWhileRevalidate = .seconds(60)
            }
            let versioned = VersionedOrigin(fields: [.cacheControl: cacheControl])
            let requests = 20
            let origin = CountingOrigin { request, run in
                // The first revalidation holds until every other request waits for it.
                if run == 2 { try await ResponseCacheCoalescingTests.waitForFollowers(cache, key: "GET /page", count: requests - 1) }
                return try await versioned.handler(request)
            }
            _ = try await cache.respond(to: CacheTest.request(), next: origin.handler)
            clock.advance(by: .seconds(11))
            let responses = try await withThrowingTaskGroup(of: StashResponse.self) { group in
                for _ in 0..<requests { group.addTask { try await cache.respond(to: CacheTest.request(), next: origin.handler) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(origin.count == 2, "\(name) \(cacheControl): one revalidation for all")
            #expect(responses.allSatisfy { CacheTest.body($0) == "version 1" }, "\(name) \(cacheControl)")
            let statuses = responses.compactMap(CacheTest.status)
            #expect(!statuses.contains { $0.contains("hit") }, "\(name) \(cacheControl): nothing served stale")
            #expect(statuses.filter { $0 == "Stash; fwd=stale; fwd-status=304; stored" }.count == 1, "\(name) \(cacheControl)")
            #expect(statuses.filter { $0 == "Stash; fwd=stale; collapsed" }.count == requests - 1, "\(name) \(cacheControl)")
        }
    }

    @Test func aStaleResponseWithAValidatorIsKeptOnlyForTheRetention() async throws {
        let clock = ManualClock()
        let store = MemoryStore(clock: clock)
        let cache = CacheTest.cache(store, clock: clock) {
            $0.mode = .responseHeaders
            $0.revalidationRetention = .seconds(100)
        }
        let origin = VersionedOrigin(fields: [.cacheControl: "max-age=10"])
        _ = try await cache.respond(to: CacheTest.request(), next: origin.handler)
        clock.advance(by: .seconds(109))
        let revalidated = try await cache.respond(to: CacheTest.request(), next: origin.handler)
        #expect(CacheTest.status(revalidated) == "Stash; fwd=stale; fwd-status=304; stored")
        clock.advance(by: .seconds(111))
        let dropped = try await cache.respond(to: CacheTest.request(), next: origin.handler)
        #expect(CacheTest.status(dropped) == "Stash; fwd=uri-miss; stored", "gone after its freshness and the retention")
        #expect(origin.received.last.map { $0.ifNoneMatch == nil } == true)
    }

    @Test func a304ThatForbidsStoringIsServedOnceAndRemovesTheStoredResponse() async throws {
        let clock = ManualClock()
        let cache = Self.cache(MemoryStore(), clock: clock)
        let origin = VersionedOrigin(fields: [.cacheControl: "max-age=10"], notModifiedFields: [.cacheControl: "no-store"])
        _ = try await cache.respond(to: CacheTest.request(), next: origin.handler)
        clock.advance(by: .seconds(11))
        let response = try await cache.respond(to: CacheTest.request(), next: origin.handler)
        #expect(CacheTest.body(response) == "version 1" && response.head.headerFields[values: .cacheControl] == ["max-age=10", "no-store"])
        #expect(CacheTest.status(response) == "Stash; fwd=stale; fwd-status=304; detail=no-store")
        // Nothing stored is left to revalidate: the next request is a plain miss.
        let after = try await cache.respond(to: CacheTest.request(), next: origin.handler)
        #expect(CacheTest.status(after) == "Stash; fwd=uri-miss; stored" && origin.received.last.map { $0.ifNoneMatch == nil } == true)
    }
}
