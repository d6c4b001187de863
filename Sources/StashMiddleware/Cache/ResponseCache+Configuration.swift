public import HTTPTypes
public import Logging

extension ResponseCache {
    /// How a ``ResponseCache`` caches.
    public struct Configuration: Sendable {
        /// The name of the store in the registry.
        public var storeName: String
        /// The name the cache gives itself in `Cache-Status` (RFC 9211).
        public var cacheName: String
        /// The request methods whose responses are cached; with `GET` among them, `HEAD` is answered from the
        /// stored `GET` response too.
        public var methods: Set<HTTPRequest.Method>
        /// The status codes whose responses are stored.
        public var cacheableStatuses: Set<Int>
        /// How long a response stays fresh when neither ``lifetimeForRequest`` nor ``routeLifetimes`` says.
        public var lifetime: Lifetime
        /// Lifetimes by path (without query, exactly as requested), ahead of ``lifetime``.
        public var routeLifetimes: [String: Lifetime]
        /// Decides the lifetime of a request's response, ahead of ``routeLifetimes``; `nil` defers to them.
        public var lifetimeForRequest: (@Sendable (StashRequest) -> Lifetime?)?
        /// Makes the base key of a request (see ``ResponseCache/defaultKey(for:)``); `nil` leaves the request
        /// uncached. A `HEAD` request is given to it as the `GET` it is answered from.
        public var key: @Sendable (StashRequest) -> String?
        /// Whether the response's own freshness sets its lifetime instead of the configured one: a positive
        /// `s-maxage`, then `max-age`, then `Expires` − `Date`, counted from the age it arrived with (RFC 9111 §4.2).
        public var usesResponseFreshness: Bool
        /// Targeted cache-control fields (RFC 9213), in order of preference, such as `Stash-Cache-Control` or
        /// `CDN-Cache-Control`: the first one a response has, with a directive this cache acts on, is followed instead
        /// of `Cache-Control` and `Expires` — so an application can cache longer (or not at all) here than in
        /// browsers. Empty by default; the field reaches the client unchanged.
        public var targetedFields: [HTTPField.Name] = []
        /// Whether a response that says not to reuse it unchecked — `Cache-Control: no-cache`, or an `s-maxage` (or,
        /// without one, a `max-age`) of 0 — is kept out of the cache, whatever lifetime the configuration gives it.
        /// On by default: a handler that says `no-cache` (a balance, a stock level) is obeyed.
        ///
        /// Turn it off only where the configured lifetime must win over what handlers say, such as in front of
        /// handlers that send `no-cache` on everything for the browser's sake: their responses are then replayed
        /// for the whole lifetime, including those whose data must never be served stale. `private` and `no-store`
        /// are honoured either way.
        public var honorsResponseNoCache: Bool
        /// How long after going stale a response may still be served while one request refreshes it; `nil`
        /// serves nothing stale.
        public var staleWhileRevalidate: Duration?
        /// Whether a request's `Cache-Control: no-cache` (or `Pragma: no-cache`) sends it to the handler and
        /// stores the fresh response. Off by default: any client could otherwise make every request reach the
        /// handler, which a server-side cache is there to prevent; the stored response is served instead.
        public var honorsRequestNoCache: Bool
        /// The largest body, in bytes, that is stored; larger responses pass through. Framework adapters collect
        /// up to this much of a response body and stream what is larger.
        public var maximumBodySize: Int
        /// Where store failures and damaged entries are logged (at debug level), and each decision (at trace
        /// level); by default nowhere.
        public var logger: Logger

        /// Creates a configuration.
        /// - Parameters:
        ///   - storeName: The name of the store in the registry.
        ///   - cacheName: The cache's name in `Cache-Status`.
        ///   - methods: The methods whose responses are cached.
        ///   - cacheableStatuses: The status codes whose responses are stored: 2xx, 301 and 308 by default. A partial
        ///     206 is never stored; with `usesResponseFreshness`, any other final status is also stored when the
        ///     response gives its own freshness.
        ///   - lifetime: The default lifetime: 60 seconds.
        ///   - routeLifetimes: Lifetimes by path.
        ///   - lifetimeForRequest: Lifetimes by request, ahead of the other two.
        ///   - key: The base key of a request.
        ///   - usesResponseFreshness: Whether the response's `s-maxage`/`max-age` sets its lifetime.
        ///   - honorsResponseNoCache: Whether a response's `no-cache`, `max-age=0` or `s-maxage=0` keeps it out of
        ///     the cache (the default) rather than the configured lifetime winning.
        ///   - staleWhileRevalidate: The grace period in which a stale response is served during a refresh.
        ///   - honorsRequestNoCache: Whether a request's `no-cache` bypasses the stored response.
        ///   - maximumBodySize: The largest body stored, in bytes: 1 MiB by default.
        ///   - logger: Where the cache logs.
        public init(
            storeName: String = "response_cache",
            cacheName: String = "Stash",
            methods: Set<HTTPRequest.Method> = [.get],
            cacheableStatuses: Set<Int> = Set(200...299).union([301, 308]),
            lifetime: Lifetime = .duration(.seconds(60)),
            routeLifetimes: [String: Lifetime] = [:],
            lifetimeForRequest: (@Sendable (StashRequest) -> Lifetime?)? = nil,
            key: @escaping @Sendable (StashRequest) -> String? = ResponseCache.defaultKey(for:),
            usesResponseFreshness: Bool = false,
            honorsResponseNoCache: Bool = true,
            staleWhileRevalidate: Duration? = nil,
            honorsRequestNoCache: Bool = false,
            maximumBodySize: Int = 1024 * 1024,
            logger: Logger = Logger(label: "Stash.ResponseCache", factory: { _ in SwiftLogNoOpLogHandler() })
        ) {
            self.storeName = storeName
            self.cacheName = cacheName
            self.methods = methods
            self.cacheableStatuses = cacheableStatuses
            self.lifetime = lifetime
            self.routeLifetimes = routeLifetimes
            self.lifetimeForRequest = lifetimeForRequest
            self.key = key
            self.usesResponseFreshness = usesResponseFreshness
            self.honorsResponseNoCache = honorsResponseNoCache
            self.staleWhileRevalidate = staleWhileRevalidate
            self.honorsRequestNoCache = honorsRequestNoCache
            self.maximumBodySize = maximumBodySize
            self.logger = logger
        }

        /// The lifetime the configuration gives a request's response.
        func lifetime(for request: StashRequest) -> Lifetime {
            if let lifetime = self.lifetimeForRequest?(request) { return lifetime }
            if !self.routeLifetimes.isEmpty, let lifetime = self.routeLifetimes[String(request.pathWithoutQuery)] { return lifetime }
            return self.lifetime
        }
    }
}
