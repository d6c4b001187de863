// The response cache without a framework: requests go straight through the middleware to a handler, and each
// response's `Cache-Status` field says what the cache did.

// snippet.hide
import HTTPTypes
import NIOCore
import Stash
import StashMiddleware
import Synchronization

/// Counts how often a handler ran.
final class Runs: Sendable {
    private let count = Atomic<Int>(0)
    func next() -> Int { self.count.add(1, ordering: .relaxed).newValue }
}

/// A request as an adapter would hand it over.
func request(_ path: String, _ fields: HTTPFields = [:], method: HTTPRequest.Method = .get) -> StashRequest {
    StashRequest(head: HTTPRequest(method: method, scheme: "http", authority: "shop.example", path: path, headerFields: fields))
}

/// Sends a request through a handler and prints what came back.
func send(_ request: StashRequest, to handler: StashHandler) async throws {
    let response = try await handler(request)
    let status = response.head.headerFields[.cacheStatus] ?? "-"
    print("\(request.head.method) \(request.head.path ?? "") -> \(response.head.status.code) [\(status)] \(String(buffer: response.body))")
}

extension HTTPField.Name {
    static let cacheStatus = Self("Cache-Status")!
    static let cacheTag = Self("Cache-Tag")!
}

// snippet.show
// snippet.setup
let store = try MemoryStore(configuration: .init(maximumBytes: 64 * 1024 * 1024))
let cache = ResponseCache(
    store: store,
    configuration: .init(lifetime: .seconds(60), routeLifetimes: ["/live": .notCached], tagField: .cacheTag)
)
let runs = Runs()
let handler = cache.wrapping { [runs] request in
    let run = runs.next()
    switch request.pathWithoutQuery {
    case "/login":
        // A response that sets a cookie is never stored: it would hand one user's session to the next.
        return StashResponse(status: .ok, headerFields: [.setCookie: "session=abc; HttpOnly"], body: "welcome (run \(run))")
    case "/account":
        return StashResponse(status: .ok, headerFields: [.cacheControl: "private"], body: "your account (run \(run))")
    case "/greeting":
        // One stored response per value of the fields `Vary` names.
        let language = request.head.headerFields[.acceptLanguage] ?? "en"
        let text = language.hasPrefix("fr") ? "bonjour" : "hello"
        return StashResponse(status: .ok, headerFields: [.vary: "Accept-Language"], body: "\(text) (run \(run))")
    default:
        return StashResponse(status: .ok, headerFields: [.cacheTag: "products"], body: "\(request.pathWithoutQuery) (run \(run))")
    }
}
// snippet.end

// snippet.hits
try await send(request("/products?page=2&sort=price"), to: handler)  // Stash; fwd=uri-miss; stored
try await send(request("/products?sort=price&page=2"), to: handler)  // Stash; hit; ttl=59 (the query is sorted)
try await send(request("/products?page=2&sort=price", method: .head), to: handler)  // HEAD answered from the stored GET
try await send(request("/live"), to: handler)  // .notCached: Stash; fwd=bypass
// snippet.end

// snippet.never
try await send(request("/login"), to: handler)  // detail=set-cookie
try await send(request("/account"), to: handler)  // detail=private
try await send(request("/products", [.authorization: "Bearer 42"]), to: handler)  // detail=authorization
// snippet.end

// snippet.vary
try await send(request("/greeting", [.acceptLanguage: "en"]), to: handler)  // stored
try await send(request("/greeting", [.acceptLanguage: "fr"]), to: handler)  // fwd=vary-miss; stored
try await send(request("/greeting", [.acceptLanguage: "fr"]), to: handler)  // hit: bonjour
// snippet.end

// snippet.invalidation
// A successful unsafe request removes what is stored for its URL, on every instance sharing the store.
try await send(request("/products?page=2&sort=price", method: .post), to: handler)  // Stash; fwd=method
try await send(request("/products?page=2&sort=price"), to: handler)  // fwd=uri-miss: the handler runs again
// Or from the application: one URL (every Vary variant), one tag, or everything.
try await cache.invalidate(path: "/greeting")
try await cache.invalidate(tag: "products")
try await cache.invalidateAll()
try await send(request("/products?page=2&sort=price"), to: handler)  // fwd=uri-miss
// snippet.end

// snippet.revalidation
// Following the responses' own Cache-Control (RFC 9111): fresh for max-age, then revalidated with If-None-Match.
let report = ResponseCache(store: try store.withNamespace("reports"), configuration: .init(mode: .responseHeaders))
let reportHandler = report.wrapping { [runs] request in
    let tag = "\"v1\""
    let fields: HTTPFields = [.eTag: tag, .cacheControl: "max-age=1"]
    if request.head.headerFields[.ifNoneMatch] == tag {
        return StashResponse(head: HTTPResponse(status: .notModified, headerFields: fields))
    }
    return StashResponse(status: .ok, headerFields: fields, body: "the report (run \(runs.next()))")
}
try await send(request("/report"), to: reportHandler)  // Stash; fwd=uri-miss; stored
try await send(request("/report"), to: reportHandler)  // Stash; hit; ttl=1
try await Task.sleep(for: .seconds(2))
try await send(request("/report"), to: reportHandler)  // Stash; fwd=stale; fwd-status=304; stored: the stored body
// snippet.end
