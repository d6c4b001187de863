import Stash
import StashHummingbird
import StashMiddleware

/// The demo's middleware, each on its store from the registry (a namespace of the root store named after it).
struct DemoMiddleware {
    /// `/limited`'s limiter, with the `--rate-limit` rule per client address.
    let rateLimit: StashRouterMiddleware<DemoRequestContext>
    /// The response cache of `/cached` and `/whoami`, entries kept for `--cache-ttl`.
    let cache: StashRouterMiddleware<DemoRequestContext>
    /// The sessions of `/session`, `/login`, `/logout` and `/whoami`.
    let sessions: StashRouterMiddleware<DemoRequestContext>

    init(registry: StoreRegistry, configuration: DemoApplication.Configuration) throws {
        let limiter = try RateLimiter(
            registry: registry,
            configuration: .init(
                policies: [RateLimitPolicy(name: "limited", rule: configuration.rateLimit.rule())],
                identity: .clientAddress()
            )
        )
        self.rateLimit = StashRouterMiddleware(limiter)
        let cache = try ResponseCache(registry: registry, configuration: .init(lifetime: .duration(configuration.cacheTTL)))
        self.cache = StashRouterMiddleware(cache)
        self.sessions = StashRouterMiddleware(sessions: try SessionMiddleware(registry: registry))
    }
}
