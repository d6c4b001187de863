import Benchmark
import HTTPTypes
import NIOCore
import Stash
import StashMiddleware

/// The session middleware on a `MemoryStore`: what a request pays to load its session, and to load and save it.
/// Set beside the bare-handler baseline, the difference is the middleware's cost.
func registerSessionBenchmarks() {
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 100_000
    )
    let store = MemoryStore()
    let sessions = SessionMiddleware(store: store)
    let response = StashResponse(status: .ok, body: "ok")

    // One session, created through the middleware as a browser's first request would be, then sent back in the cookie.
    let returningRequest: @Sendable () async throws -> StashRequest = {
        let created = try await sessions.respond(to: sessionRequest(cookie: nil)) { request in
            try request.session?.setValue("ada", forKey: "user")
            try request.session?.setValue(0, forKey: "visits")
            return response
        }
        guard let setCookie = created.head.headerFields[.setCookie], let pair = setCookie.split(separator: ";").first else {
            throw StoreError(.ioFailure, "the session middleware set no cookie")
        }
        return sessionRequest(cookie: String(pair))
    }

    Benchmark("Session load (MemoryStore, one value read)", configuration: configuration) { benchmark, request in
        let load = sessions.wrapping { request in
            blackHole(try request.session?.value(forKey: "user", as: String.self))
            return response
        }
        for _ in benchmark.scaledIterations {
            blackHole(try await load(request))
        }
    } setup: {
        try await returningRequest()
    }

    Benchmark("Session load+save (MemoryStore, one value changed)", configuration: configuration) { benchmark, request in
        let save = sessions.wrapping { request in
            let session = request.session
            let visits = try session?.value(forKey: "visits", as: Int.self) ?? 0
            try session?.setValue(visits + 1, forKey: "visits")
            return response
        }
        for _ in benchmark.scaledIterations {
            blackHole(try await save(request))
        }
    } setup: {
        try await returningRequest()
    }
}

/// A request for `/session`, with a `Cookie` field when one is given.
private func sessionRequest(cookie: String?) -> StashRequest {
    var fields = HTTPFields()
    if let cookie { fields[.cookie] = cookie }
    return StashRequest(head: HTTPRequest(method: .get, scheme: "http", authority: "localhost", path: "/session", headerFields: fields))
}
