// The rate limiter without a framework: policies of each algorithm, the headers they send, clients behind a trusted
// proxy, and two instances sharing one store.

// snippet.hide
import HTTPTypes
import NIOCore
import Stash
import StashMiddleware

/// A request from a peer, as an adapter hands it over, with optional header fields.
func request(_ path: String, from peer: String, _ fields: HTTPFields = [:]) -> StashRequest {
    StashRequest(head: HTTPRequest(method: .get, scheme: "http", authority: "api.example", path: path, headerFields: fields), peerAddress: peer)
}

/// Sends a request and prints the status and the rate-limit fields of the response.
@discardableResult
func send(_ request: StashRequest, to handler: StashHandler) async throws -> HTTPResponse {
    let response = try await handler(request).head
    let names = ["RateLimit-Policy", "RateLimit", "Retry-After"]
    let fields = names.compactMap { name in response.headerFields[HTTPField.Name(name)!].map { "\(name): \($0)" } }
    print("\(request.head.path ?? "") from \(request.peerAddress ?? "?") -> \(response.status.code)  \(fields.joined(separator: "  "))")
    return response
}

extension HTTPField.Name {
    static let xForwardedFor = Self("X-Forwarded-For")!
}

// snippet.show
// snippet.policies
let store = try MemoryStore(configuration: .init(maximumBytes: 64 * 1024 * 1024))
let limiter = RateLimiter(
    store: store,
    configuration: try .init(
        policies: [
            // Every request: 100 a minute, the previous minute weighed by its overlap (no double burst at a boundary).
            RateLimitPolicy(name: "global", rule: RateLimitRule(limit: 100, per: .seconds(60), algorithm: .slidingWindow)),
            // Logins: 3 per clock-aligned minute.
            .route(["/login"], name: "login", rule: RateLimitRule(limit: 3, per: .seconds(60), algorithm: .fixedWindow)),
            // Searches: a bucket of 2, refilled at 1 a second (GCRA): bursts bounded exactly, then evenly spaced.
            .route(["/search"], name: "search", rule: RateLimitRule(limit: 1, per: .seconds(1), algorithm: .tokenBucket(burst: 2))),
        ],
        // The peer address, and X-Forwarded-For or Forwarded only when the peer is one of these proxies.
        identity: .clientAddress(trustedProxies: ["10.0.0.0/8"]),
        excludedPaths: ["/health"]
    )
)
let handler = limiter.wrapping { _ in StashResponse(status: .ok, body: "ok") }
// snippet.end

// snippet.headers
for _ in 1...4 {
    try await send(request("/login", from: "192.0.2.7"), to: handler)  // 200, 200, 200, then 429 with Retry-After
}
for _ in 1...3 {
    try await send(request("/search", from: "192.0.2.7"), to: handler)  // the burst of 2, then 429
}
try await send(request("/health", from: "192.0.2.7"), to: handler)  // excluded: no fields at all
// snippet.end

// snippet.proxies
// Behind the proxy at 10.0.0.2, each client is the address the proxy saw, not the proxy itself ...
try await send(request("/login", from: "10.0.0.2", [.xForwardedFor: "198.51.100.23"]), to: handler)  // 200: its own limit
// ... and a client cannot spoof its way around: it may prepend anything, but the address the trusted proxy appended
// is the one counted.
try await send(request("/login", from: "10.0.0.2", [.xForwardedFor: "203.0.113.99, 192.0.2.7"]), to: handler)  // 429
// From a peer that is not a trusted proxy, the field is ignored: the peer is the client.
try await send(request("/login", from: "192.0.2.50", [.xForwardedFor: "198.51.100.23"]), to: handler)  // 200
print("identity:", limiter.identity(of: request("/", from: "2001:db8:1:2345::7")))  // an IPv6 client is its /56
// snippet.end

// snippet.instances
// Two instances of an application sharing one store (here the same memory store; in production Redis or
// PostgreSQL): each decision is one atomic step of the store, so between them they admit exactly the limit.
let shared = try RateLimiter.Configuration(
    policies: [RateLimitPolicy(rule: RateLimitRule(limit: 5, per: .seconds(60)))],
    identity: .clientAddress()
)
let instances = [RateLimiter(store: store, configuration: shared), RateLimiter(store: store, configuration: shared)]
let admitted = try await withThrowingTaskGroup(of: Bool.self) { group in
    for number in 0..<20 {
        let instance = instances[number % 2].wrapping { _ in StashResponse(status: .ok, body: "ok") }
        group.addTask { try await instance(request("/export", from: "192.0.2.8")).head.status == .ok }
    }
    var admitted = 0
    for try await ok in group where ok { admitted += 1 }
    return admitted
}
print("20 concurrent requests on two instances, limit 5: \(admitted) admitted")  // 5
// snippet.end

// snippet.store
// The same step on any store, for limits of your own: a request that costs more, a refund, a block.
let rule = try RateLimitRule(limit: 10, per: .seconds(60), algorithm: .slidingWindow)
let upload = try await store.rateLimit("uploads 192.0.2.7", rule: rule, .consume(4))
print("upload admitted: \(upload.isAllowed), remaining \(upload.remaining)")  // true, 6
if let charge = upload.charge {
    _ = try await store.rateLimit("uploads 192.0.2.7", rule: rule, .refund(charge))  // the upload failed: take it back
}
let blocked = try await store.rateLimit("uploads 192.0.2.7", rule: rule, .block(for: .seconds(3600)))
print("after a block: allowed \(blocked.isAllowed)")  // false
// snippet.end
