import HTTPTypes
import NIOCore
import Stash
import StashTestSupport
import StashTesting
import Testing

@testable import StashMiddleware

/// A cache keeps the entries it decoded, to skip decoding the same stored bytes again on the next hit: what it
/// serves must still be what the store holds now.
@Suite struct ResponseCacheDecodedEntriesTests {
    @Test func anEntryAnotherInstanceRewroteIsServedAsRewritten() async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let clock = ManualClock()
            let first = CacheTest.cache(store, clock: clock)
            let second = CacheTest.cache(store, clock: clock)
            let origin = CountingOrigin()
            _ = try await first.respond(to: CacheTest.request(), next: origin.handler)
            let hit = try await first.respond(to: CacheTest.request(), next: origin.handler)
            #expect(CacheTest.body(hit) == "run 1" && CacheTest.status(hit) == "Stash; hit; ttl=60", "\(name)")

            try await second.invalidate(path: "/page")
            let other = CountingOrigin { _, _ in StashResponse(status: .ok, headerFields: [.contentType: "text/plain"], body: "rewritten") }
            _ = try await second.respond(to: CacheTest.request(), next: other.handler)

            let after = try await first.respond(to: CacheTest.request(), next: origin.handler)
            #expect(CacheTest.body(after) == "rewritten", "\(name): the first instance serves the store's entry")
            #expect(CacheTest.status(after) == "Stash; hit; ttl=60", "\(name)")
            #expect(origin.count == 1, "\(name)")
        }
    }

    @Test func anEntryDamagedAfterItWasDecodedIsAMiss() async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let cache = CacheTest.cache(store)
            let origin = CountingOrigin()
            _ = try await cache.respond(to: CacheTest.request(), next: origin.handler)
            _ = try await cache.respond(to: CacheTest.request(), next: origin.handler)
            var stored = try #require(try await store.get("GET /page"), "\(name)")
            stored.moveWriterIndex(to: stored.writerIndex - 1)
            try await store.set("GET /page", value: stored)

            let response = try await cache.respond(to: CacheTest.request(), next: origin.handler)
            #expect(CacheTest.status(response) == "Stash; fwd=uri-miss; stored", "\(name)")
            #expect(CacheTest.body(response) == "run 2" && origin.count == 2, "\(name)")
        }
    }

    @Test func theKeptEntriesAreBoundedInNumberAndBytes() {
        let entries = DecodedEntries()
        let entry = CacheEntry.vary([.acceptLanguage])
        for index in 0..<(DecodedEntries.maximumCount + 50) {
            entries.keep(entry, forKey: "k\(index)", stored: ByteBuffer(string: "v\(index)"))
        }
        #expect(entries.usage.count == DecodedEntries.maximumCount)

        let large = ByteBuffer(repeating: 1, count: DecodedEntries.maximumValueSize)
        for index in 0..<(DecodedEntries.maximumBytes / large.readableBytes + 10) {
            entries.keep(entry, forKey: "large\(index)", stored: large)
        }
        #expect(entries.usage.bytes <= DecodedEntries.maximumBytes)
        #expect(entries.usage.count <= DecodedEntries.maximumCount)

        let tooLarge = ByteBuffer(repeating: 2, count: DecodedEntries.maximumValueSize + 1)
        entries.keep(entry, forKey: "too large", stored: tooLarge)
        #expect(entries.entry(forKey: "too large", stored: tooLarge) == nil)
        #expect(entries.entry(forKey: "large0", stored: ByteBuffer(string: "other bytes")) == nil)
    }
}
