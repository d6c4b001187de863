import Benchmark
import HTTPTypes
import NIOCore
import Stash
import StashMiddleware
import Synchronization

/// The response cache: a hit, a revalidated hit (the handler answers 304) and a storing miss on a memory store,
/// beside a bare handler returning a prebuilt response (the demo's `/hello`: a 1 KiB body).
func registerCacheBenchmarks() {
    let fields: HTTPFields = [.contentType: "text/plain; charset=utf-8", .contentLength: "1024", .eTag: "\"v1\""]
    let prebuilt = StashResponse(head: HTTPResponse(status: .ok, headerFields: fields), body: ByteBuffer(repeating: 0x61, count: 1024))
    let handler: StashHandler = { _ in prebuilt }
    let request = StashRequest(head: HTTPRequest(method: .get, scheme: "http", authority: "localhost", path: "/cached?b=2&a=1"))

    Benchmark("Baseline: bare handler returning a prebuilt response") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try await handler(request))
        }
    }

    let hitCache = ResponseCache(store: MemoryStore(), configuration: .init(lifetime: .forever))
    Benchmark(
        "ResponseCache hit (MemoryStore)",
        closure: { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try await hitCache.respond(to: request, next: handler))
            }
        },
        setup: {
            _ = try await hitCache.respond(to: request, next: handler)
        }
    )

    // A response that must be revalidated before every use (`no-cache` with an `ETag`): each request asks the
    // handler, which answers 304 to the cache's `If-None-Match`; the stored body is served and the entry refreshed.
    var validatedFields = fields
    validatedFields[.cacheControl] = "no-cache"
    let validated = StashResponse(head: HTTPResponse(status: .ok, headerFields: validatedFields), body: ByteBuffer(repeating: 0x61, count: 1024))
    let notModified = StashResponse(head: HTTPResponse(status: .notModified, headerFields: [.eTag: "\"v1\"", .cacheControl: "no-cache"]))
    let conditionalHandler: StashHandler = { request in
        request.head.headerFields[.ifNoneMatch] == "\"v1\"" ? notModified : validated
    }
    let revalidatingCache = ResponseCache(store: MemoryStore(), configuration: .init(mode: .responseHeaders))
    Benchmark(
        "ResponseCache revalidated hit (MemoryStore, the handler answers 304)",
        closure: { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try await revalidatingCache.respond(to: request, next: conditionalHandler))
            }
        },
        setup: {
            _ = try await revalidatingCache.respond(to: request, next: conditionalHandler)
        }
    )

    // Unique keys: a prebuilt request per path, and a round number the key builder adds, moved on each time the
    // paths are used up. Bounded, so that every run evicts the oldest entries instead of growing the store.
    let round = Round()
    var missConfiguration = ResponseCache.Configuration()
    missConfiguration.key = { request in
        ResponseCache.defaultKey(for: request).map { String(round.value.load(ordering: .relaxed)) + " " + $0 }
    }
    // A valid configuration: never throws.
    let missStore = try! MemoryStore(configuration: .init(maximumEntries: 50_000))
    let missCache = ResponseCache(store: missStore, configuration: missConfiguration)
    let requests = (0..<1_000).map { index in
        StashRequest(head: HTTPRequest(method: .get, scheme: "http", authority: "localhost", path: "/item/\(index)"))
    }
    Benchmark("ResponseCache miss that stores (MemoryStore, unique keys)") { benchmark in
        for iteration in benchmark.scaledIterations {
            if iteration % requests.count == 0 { round.value.add(1, ordering: .relaxed) }
            blackHole(try await missCache.respond(to: requests[iteration % requests.count], next: handler))
        }
    }
}

/// The round of unique keys the miss benchmark is in.
final class Round: Sendable {
    let value = Atomic<Int>(0)
}
