import Benchmark
import HTTPTypes
import NIOCore
import Stash
import StashMiddleware

/// The rate limiter on a memory store: one admitted decision per request (a limit no run reaches), beside the
/// bare-handler baseline, so the difference is the decision and its headers.
func registerRateLimitBenchmarks() {
    let response = StashResponse(status: .ok, body: "ok")
    let handler: StashHandler = { _ in response }
    let request = StashRequest(
        head: HTTPRequest(method: .get, scheme: "http", authority: "localhost", path: "/limited"),
        peerAddress: "192.0.2.1"
    )
    for (name, algorithm) in [
        ("fixed window", RateLimitRule.Algorithm.fixedWindow), ("sliding window", .slidingWindow), ("token bucket", .tokenBucket(burst: 100_000_000)),
    ] {
        // Far more than a run's iterations in a minute: every decision admits.
        guard let rule = try? RateLimitRule(limit: 100_000_000, per: .seconds(60), algorithm: algorithm),
            let policy = try? RateLimitPolicy(rule: rule),
            let identity = try? ClientIdentity.clientAddress(),
            let configuration = try? RateLimiter.Configuration(policies: [policy], identity: identity)
        else {
            fatalError("the benchmark's rate limit configuration is invalid")
        }
        let limiter = RateLimiter(store: MemoryStore(), configuration: configuration)
        Benchmark("RateLimiter decision, \(name) (MemoryStore)") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try await limiter.respond(to: request, next: handler))
            }
        }
    }
}
