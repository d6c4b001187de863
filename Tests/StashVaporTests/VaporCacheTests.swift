import NIOCore
import Stash
import StashMiddleware
import StashTestSupport
import StashTesting
import StashVapor
import Testing
import Vapor
import VaporTesting

/// The response cache as Vapor middleware: hits, HEAD from a stored GET, and which bodies it is given.
@Suite struct VaporCacheTests {
    /// A cache of bodies up to 1 KiB on routes that count their runs.
    static func configure(_ app: Application, store: any Store, runs: RunCounter) {
        var configuration = ResponseCache.Configuration(lifetime: .seconds(60))
        configuration.maximumBodySize = 1024
        let cached = app.grouped(StashVaporMiddleware(ResponseCache(store: store, configuration: configuration, clock: ManualClock())))
        cached.get("page") { _ -> Response in
            runs.increment()
            return Response(status: .ok, headers: ["Content-Type": "text/plain", "ETag": "\"v1\""], body: .init(string: "page \(runs.count)"))
        }
        cached.get("large") { _ -> Response in
            runs.increment()
            return Response(status: .ok, body: .init(buffer: patternBytes(count: 4096)))
        }
        cached.get("stream") { _ -> Response in
            runs.increment()
            return Response(status: .ok, body: streamedBody(patternBytes(count: 700), chunkSize: 100, declaringLength: false))
        }
        cached.get("moved") { req -> Response in
            runs.increment()
            return req.redirect(to: "/page", redirectType: .permanent)
        }
    }

    @Test func aHitIsServedFromTheStoreAndTheHandlerRunsOnce() async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let runs = RunCounter()
            try await withVaporApp { app in
                Self.configure(app, store: store, runs: runs)
                let tester = try app.testing()
                let miss = try await tester.sendRequest(.GET, "page")
                let hit = try await tester.sendRequest(.GET, "page")
                #expect(miss.body.string == "page 1" && hit.body.string == "page 1", "\(name)")
                #expect(hit.headers.first(name: "Cache-Status") == "Stash; hit; ttl=60", "\(name)")
                #expect(hit.headers.first(name: .contentLength) == "6", "\(name)")
                #expect(hit.headers.first(name: .eTag) == "\"v1\"", "\(name)")
                #expect(runs.count == 1, "\(name)")
                let notModified = try await tester.sendRequest(.GET, "page", headers: ["If-None-Match": "\"v1\""])
                #expect(notModified.status == .notModified && notModified.body.readableBytes == 0, "\(name)")
            }
        }
    }

    @Test func headIsAnsweredFromTheStoredGetWithItsHeadersAndNoBody() async throws {
        let runs = RunCounter()
        try await withVaporApp { app in
            Self.configure(app, store: MemoryStore(), runs: runs)
            let tester = try app.testing(method: .running(hostname: "127.0.0.1", port: 0))
            _ = try await tester.sendRequest(.GET, "page")
            let head = try await tester.sendRequest(.HEAD, "page")
            #expect(head.status == .ok)
            #expect(head.body.readableBytes == 0)
            #expect(head.headers.first(name: .contentLength) == "6", "the GET's length")
            #expect(head.headers.first(name: .contentType) == "text/plain")
            #expect(head.headers.first(name: "Cache-Status")?.hasPrefix("Stash; hit") == true)
            #expect(runs.count == 1, "HEAD ran no handler")
        }
    }

    @Test func aBodyOverTheLimitOrAStreamReachesTheClientUnchangedAndIsNeverStored() async throws {
        let runs = RunCounter()
        try await withVaporApp { app in
            Self.configure(app, store: MemoryStore(), runs: runs)
            let tester = try app.testing(method: .running(hostname: "127.0.0.1", port: 0))
            for path in ["large", "stream"] {
                let before = runs.count
                let expected = patternBytes(count: path == "large" ? 4096 : 700)
                for _ in 0..<2 {
                    let response = try await tester.sendRequest(.GET, path)
                    #expect(response.status == .ok)
                    #expect(response.body == expected, "\(path): byte for byte")
                    #expect(response.headers.first(name: "Cache-Status")?.contains("stored") == false, "\(path)")
                }
                #expect(runs.count == before + 2, "\(path): not cached, so the handler ran each time")
            }
        }
    }

    @Test func aPermanentRedirectWithoutBodyIsCached() async throws {
        let runs = RunCounter()
        try await withVaporApp { app in
            Self.configure(app, store: MemoryStore(), runs: runs)
            let tester = try app.testing()
            _ = try await tester.sendRequest(.GET, "moved")
            let hit = try await tester.sendRequest(.GET, "moved")
            #expect(hit.status == .movedPermanently)
            #expect(hit.headers.first(name: .location) == "/page")
            #expect(hit.headers.first(name: "Cache-Status")?.hasPrefix("Stash; hit") == true)
            #expect(runs.count == 1)
        }
    }
}

/// What a downstream cache sees of a hit through Vapor: one current `Date`, and the true `Age`.
@Suite struct VaporCacheDateTests {
    @Test func aHitCarriesOneCurrentDateAndItsTrueAge() async throws {
        // Noon, 2026-12-05 (GMT), on the cache's clock.
        let clock = ManualClock(now: WallClock.Instant(sinceEpoch: .seconds(1_796_472_000)))
        try await withVaporApp { app in
            let cache = ResponseCache(store: MemoryStore(), configuration: .init(mode: .responseHeaders), clock: clock)
            app.grouped(StashVaporMiddleware(cache)).get("page") { _ in
                // An origin's response, generated a minute before it arrived, already 30 s old.
                Response(status: .ok, headers: ["Date": "Sat, 05 Dec 2026 11:59:00 GMT", "Age": "30", "Cache-Control": "max-age=600"], body: "page")
            }
            let tester = try app.testing(method: .running(hostname: "127.0.0.1", port: 0))
            _ = try await tester.sendRequest(.GET, "page")
            clock.advance(by: .seconds(10))
            let hit = try await tester.sendRequest(.GET, "page")
            #expect(hit.headers.first(name: "Cache-Status")?.hasPrefix("Stash; hit") == true)
            #expect(hit.headers[.date].count == 1, "one Date: \(hit.headers[.date])")
            #expect(hit.headers[.date].first != "Sat, 05 Dec 2026 11:59:00 GMT", "the current date, Vapor's")
            // A minute old on arrival by its Date (more than its Age of 30 says), then 10 s in the cache.
            #expect(hit.headers.first(name: .age) == "70")
        }
    }
}
