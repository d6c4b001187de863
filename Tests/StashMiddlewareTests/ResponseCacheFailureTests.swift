import HTTPTypes
import NIOCore
import Stash
import StashRedis
import StashTestSupport
import StashTesting
import Testing

@testable import StashMiddleware

@Suite struct ResponseCacheFailureTests {
    @Test func aDamagedEntryIsAMissAndIsReplaced() async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let cache = CacheTest.cache(store)
            let origin = CountingOrigin.with([.eTag: "\"e\""])
            _ = try await cache.respond(to: CacheTest.request(), next: origin.handler)
            let good = try #require(try await store.get("GET /page"), "\(name)")
            var damaged: [ByteBuffer] = [ByteBuffer(), ByteBuffer(bytes: [9, 1]), ByteBuffer(bytes: [1, 7, 0])]
            damaged.append(good.getSlice(at: 0, length: good.readableBytes - 1)!)  // truncated body
            damaged.append(good.getSlice(at: 0, length: 20)!)  // truncated head
            var extra = good
            extra.writeString("x")
            damaged.append(extra)  // trailing bytes
            var longField = good
            longField.setInteger(UInt32.max, at: good.readerIndex + 2 + 8 + 8 + 2 + 1 + 2 + 2 + 4 + 2)
            damaged.append(longField)  // a field value length past the end
            for (index, value) in damaged.enumerated() {
                try await store.set("GET /page", value: value, expiresIn: nil)
                let response = try await cache.respond(to: CacheTest.request(), next: origin.handler)
                #expect(CacheTest.status(response) == "Stash; fwd=uri-miss; stored", "\(name), damage \(index)")
                #expect(CacheTest.body(response) == "run \(index + 2)", "\(name), damage \(index)")
                let replaced = try await cache.respond(to: CacheTest.request(), next: origin.handler)
                #expect(CacheTest.status(replaced) == "Stash; hit; ttl=60", "\(name), damage \(index): the entry was replaced")
            }
        }
    }

    @Test func entriesRoundTripAndEveryTruncationIsRejected() throws {
        var fields: HTTPFields = [.contentType: "text/html", .eTag: "\"x\""]
        fields.append(HTTPField(name: .setCookie, value: "a=b"))
        let entry = CachedResponse(
            status: .init(code: 299, reasonPhrase: "Odd"),
            headerFields: fields,
            body: ByteBuffer(string: "body"),
            storedAt: 1_700_000_000_123,
            lifetime: 5_000
        )
        let encoded = CacheEntry.response(entry).encoded()
        guard case .response(let decoded) = try #require(CacheEntry.decode(encoded)) else {
            Issue.record("decoded as a vary record")
            return
        }
        #expect(decoded.status.code == 299 && decoded.status.reasonPhrase == "Odd")
        #expect(decoded.headerFields == fields && decoded.body == entry.body)
        #expect(decoded.storedAt == entry.storedAt && decoded.lifetime == 5_000)
        for length in 0..<encoded.readableBytes {
            #expect(CacheEntry.decode(encoded.getSlice(at: 0, length: length)!) == nil, "truncated to \(length)")
        }
        let vary = CacheEntry.vary([.acceptLanguage, .acceptEncoding]).encoded()
        guard case .vary(let names) = try #require(CacheEntry.decode(vary)) else {
            Issue.record("decoded as a response")
            return
        }
        #expect(names == [.acceptLanguage, .acceptEncoding])
        var future = encoded
        future.setInteger(UInt8(2), at: future.readerIndex)
        #expect(CacheEntry.decode(future) == nil, "an unknown version")
    }

    @Test func aStoreThatFailsNeverFailsTheRequest() async throws {
        // A real Redis store with nothing listening on its port.
        var configuration = try RedisConfiguration(url: "redis://127.0.0.1:1/0")
        configuration.connectTimeout = .seconds(2)
        let down = try RedisStore(configuration: configuration)
        let cache = ResponseCache(store: down)
        let origin = CountingOrigin()
        for run in 1...2 {
            let response = try await cache.respond(to: CacheTest.request(), next: origin.handler)
            #expect(response.head.status == .ok && CacheTest.body(response) == "run \(run)")
            #expect(CacheTest.status(response) == "Stash; fwd=uri-miss; detail=store-error")
        }
        // A store that reads but cannot write: the response is still served.
        let full = try MemoryStore(configuration: .init(maximumValueSize: 16))
        let small = ResponseCache(store: full)
        let response = try await small.respond(to: CacheTest.request(), next: origin.handler)
        #expect(CacheTest.body(response) == "run 3" && CacheTest.status(response) == "Stash; fwd=uri-miss; detail=too-large")
    }
}
