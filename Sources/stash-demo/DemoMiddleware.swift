import Stash
import StashMiddleware

/// The demo's middleware, framework-free, each on its store from the registry (a namespace of the root store named
/// after it); each framework's routes run them through its adapter.
struct DemoMiddleware {
    /// `/limited`'s limiter, with the `--rate-limit` rule per client address.
    let rateLimit: RateLimiter
    /// The response cache of `/cached` and `/whoami`, entries kept for `--cache-ttl`.
    let cache: ResponseCache
    /// The sessions of `/session`, `/login`, `/logout` and `/whoami`.
    let sessions: SessionMiddleware

    init(registry: StoreRegistry, configuration: DemoApplication.Configuration) throws {
        self.rateLimit = try RateLimiter(
            registry: registry,
            configuration: .init(
                policies: [RateLimitPolicy(name: "limited", rule: configuration.rateLimit.rule())],
                identity: .clientAddress()
            )
        )
        self.cache = try ResponseCache(registry: registry, configuration: .init(lifetime: .duration(configuration.cacheTTL)))
        self.sessions = try SessionMiddleware(registry: registry)
    }
}
