import HTTPTypes
import NIOCore
import Stash
import StashTestSupport
import StashTesting
import Testing

@testable import StashMiddleware

/// RFC 9111 §4.2 in the mode that follows the response's own headers: lifetime from `s-maxage`, `max-age`, then
/// `Expires` − `Date`, counted from the age the response arrived with; and HTTP dates in their three forms.
@Suite struct ResponseFreshnessTests {
    /// 2026-12-05 12:00:00 GMT, a Saturday.
    static let noon: Int64 = 1_796_472_000

    static func cache(_ store: any Store, clock: ManualClock) -> ResponseCache {
        CacheTest.cache(store, clock: clock) {
            $0.mode = .responseHeaders
            $0.lifetime = .seconds(5)
        }
    }

    static func clock() -> ManualClock {
        ManualClock(now: WallClock.Instant(sinceEpoch: .seconds(Self.noon)))
    }

    /// Stores `GET /page` answered with `fields`, then asks again: what the second request got.
    static func storeAndHit(_ fields: HTTPFields, store: any Store = MemoryStore(), advance: Duration = .zero) async throws -> StashResponse {
        let clock = Self.clock()
        let cache = Self.cache(store, clock: clock)
        let origin = CountingOrigin.with(fields)
        _ = try await cache.respond(to: CacheTest.request(), next: origin.handler)
        clock.advance(by: advance)
        return try await cache.respond(to: CacheTest.request(), next: origin.handler)
    }

    @Test func anAgeAlreadyPastMaxAgeIsStaleOnArrivalAndNotStored() async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let second = try await Self.storeAndHit([.cacheControl: "max-age=60", .age: "61"], store: store)
            #expect(CacheTest.body(second) == "run 2", "\(name): not stored")
            #expect(CacheTest.status(second) == "Stash; fwd=uri-miss; detail=stale", "\(name)")
        }
    }

    @Test func aHitsAgeIncludesTheAgeItArrivedWith() async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let hit = try await Self.storeAndHit([.cacheControl: "max-age=60", .age: "10"], store: store, advance: .seconds(5))
            #expect(CacheTest.body(hit) == "run 1", "\(name)")
            #expect(hit.head.headerFields[.age] == "15", "\(name): 10 on arrival, 5 in the cache")
            #expect(CacheTest.status(hit) == "Stash; hit; ttl=45", "\(name)")
        }
    }

    @Test func theStoreKeepsAnEntryOnlyForWhatIsLeftOfItsFreshness() async throws {
        // The store on the cache's manual clock: the expiry is exact.
        let clock = Self.clock()
        let store = MemoryStore(clock: clock)
        let cache = Self.cache(store, clock: clock)
        _ = try await cache.respond(to: CacheTest.request(), next: CountingOrigin.with([.cacheControl: "max-age=60", .age: "50"]).handler)
        #expect(try await store.expiry(of: "GET /page") == .expiresIn(.seconds(10)), "60 s of freshness, 50 of them used on arrival")
    }

    @Test func expiresMinusDateGivesTheLifetimeWhenNoMaxAgeDoes() async throws {
        let date = "Sat, 05 Dec 2026 11:59:00 GMT"
        let hit = try await Self.storeAndHit([.date: date, .expires: "Sat, 05 Dec 2026 12:09:00 GMT"], advance: .seconds(30))
        // Ten minutes from its Date, which was a minute before it arrived.
        #expect(CacheTest.status(hit) == "Stash; hit; ttl=510", "\(String(describing: CacheTest.status(hit)))")
        #expect(hit.head.headerFields[.age] == "90")
        let noDate = try await Self.storeAndHit([.expires: "Sat, 05 Dec 2026 12:02:00 GMT"])
        #expect(CacheTest.status(noDate) == "Stash; hit; ttl=120", "without Date, from now")
        let maxAgeWins = try await Self.storeAndHit([.cacheControl: "max-age=30", .expires: "Sat, 05 Dec 2026 13:00:00 GMT"])
        #expect(CacheTest.status(maxAgeWins) == "Stash; hit; ttl=30")
        let sharedWins = try await Self.storeAndHit([.cacheControl: "max-age=30, s-maxage=40", .expires: "Sat, 05 Dec 2026 13:00:00 GMT"])
        #expect(CacheTest.status(sharedWins) == "Stash; hit; ttl=40")
    }

    @Test(arguments: ["0", "-1", "yesterday", "Sat, 05 Dec 2026 11:00:00 GMT", "Sat, 31 Feb 2026 12:00:00 GMT"])
    func anInvalidOrPastExpiresIsAlreadyStale(expires: String) async throws {
        let second = try await Self.storeAndHit([.date: "Sat, 05 Dec 2026 12:00:00 GMT", .expires: expires])
        #expect(CacheTest.body(second) == "run 2", "\(expires)")
        #expect(CacheTest.status(second) == "Stash; fwd=uri-miss; detail=stale", "\(expires)")
    }

    @Test(arguments: [
        ("99999999999999999999999", false), ("2147483648", false), ("abc", true), ("-5", true), ("", true), ("1.5", true), ("10 20", true),
        (" 61 ", false),
    ])
    func hugeOrMalformedAgeValues(age: String, stored: Bool) async throws {
        let second = try await Self.storeAndHit([.cacheControl: "max-age=60", .age: age])
        #expect((CacheTest.body(second) == "run 1") == stored, "Age: \(age)")
    }

    @Test func withoutExplicitFreshnessOrAValidatorNothingIsStored() async throws {
        let again = try await Self.storeAndHit([.contentType: "text/plain"])
        #expect(CacheTest.status(again) == "Stash; fwd=uri-miss; detail=no-freshness", "the configured lifetime is not a default")
        #expect(CacheTest.body(again) == "run 2")
    }

    @Test(arguments: [
        ("Sun, 06 Nov 1994 08:49:37 GMT", Int64(784_111_777)), ("Sunday, 06-Nov-94 08:49:37 GMT", 784_111_777),
        ("Sun Nov  6 08:49:37 1994", 784_111_777), ("Thu, 01 Jan 1970 00:00:00 GMT", 0), ("Tue, 29 Feb 2028 23:59:59 GMT", 1_835_481_599),
    ])
    func httpDatesInTheirThreeForms(text: String, seconds: Int64) {
        #expect(HTTPDate.seconds(text) == seconds, "\(text)")
    }

    @Test(arguments: [
        "", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 06 Nov 1994 08:49:37", "Sun, 32 Nov 1994 08:49:37 GMT", "Sun, 29 Feb 2027 08:49:37 GMT",
        "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Nov 1969 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:3x GMT",
        "Sun Nov 6 08:49:37 1994",
    ])
    func anythingElseIsNotADate(text: String) {
        #expect(HTTPDate.seconds(text) == nil, "\(text)")
    }

    @Test func randomInstantsReadBackFromTheirIMFFixdate() {
        var random = SplitMix64(seed: 0xDA7E)
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let days = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
        for _ in 0..<2_000 {
            let instant = Int64.random(in: 0..<4_102_444_800, using: &random)
            // The civil date by counting days forward from the epoch: slow, obviously right.
            var remaining = instant / 86_400
            var year: Int64 = 1970
            func isLeap(_ year: Int64) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }
            while remaining >= (isLeap(year) ? 366 : 365) {
                remaining -= isLeap(year) ? 366 : 365
                year += 1
            }
            let lengths: [Int64] = [31, isLeap(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
            var month = 0
            while remaining >= lengths[month] {
                remaining -= lengths[month]
                month += 1
            }
            let time = instant % 86_400
            func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
            let text =
                "\(days[Int((instant / 86_400) % 7)]), \(two(remaining + 1)) \(months[month]) \(year) "
                + "\(two(time / 3600)):\(two(time / 60 % 60)):\(two(time % 60)) GMT"
            #expect(HTTPDate.seconds(text) == instant, "\(text)")
        }
    }
}
