public import HTTPTypes
public import Logging
public import Tracing

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
        /// Decides, beside ``cacheableStatuses``, whether a response the cache could store is stored: `false` keeps
        /// it out (`Cache-Status: …; fwd=uri-miss; detail=filter`), `true` leaves the decision to the rules. It can
        /// only refuse: a response that sets a cookie, says `private` or `no-store`, or answers an authorized request,
        /// is never stored whatever it returns. `nil` (the default) stores by the rules alone.
        public var responseFilter: (@Sendable (StashRequest, StashResponse) -> Bool)?
        /// How long a response stays fresh when neither ``lifetimeForRequest`` nor ``routeLifetimes`` says.
        public var lifetime: Lifetime
        /// Lifetimes by path (without query, exactly as requested), ahead of ``lifetime``.
        public var routeLifetimes: [String: Lifetime]
        /// Decides the lifetime of a request's response, ahead of ``routeLifetimes``; `nil` defers to them.
        public var lifetimeForRequest: (@Sendable (StashRequest) -> Lifetime?)?
        /// Makes the base key of a request (see ``ResponseCache/defaultKey(for:)``); `nil` leaves the request
        /// uncached. A `HEAD` request is given to it as the `GET` it is answered from.
        public var key: @Sendable (StashRequest) -> String?
        /// Where a stored response's freshness comes from: the configured lifetimes (the default), or the response's
        /// own headers, as a shared HTTP cache (RFC 9111).
        public var mode: Mode
        /// Targeted cache-control fields (RFC 9213), in order of preference, such as `Stash-Cache-Control` or
        /// `CDN-Cache-Control`: the first one a response has, with a directive this cache acts on, is followed instead
        /// of `Cache-Control` and `Expires` — so an application can cache longer (or not at all) here than in
        /// browsers. Empty by default; the field reaches the client unchanged.
        public var targetedFields: [HTTPField.Name] = []
        /// In ``Mode/configuredLifetimes``, whether a response that says not to reuse it unchecked — `Cache-Control:
        /// no-cache`, or an `s-maxage` (or, without one, a `max-age`) of 0 — is kept out of the cache, whatever
        /// lifetime the configuration gives it. On by default: a handler that says `no-cache` (a balance, a stock
        /// level) is obeyed. (In ``Mode/responseHeaders`` such a response is always obeyed: it is stored only to be
        /// revalidated before every use, when it has a validator.)
        ///
        /// Turn it off only where the configured lifetime must win over what handlers say, such as in front of
        /// handlers that send `no-cache` on everything for the browser's sake: their responses are then replayed
        /// for the whole lifetime, including those whose data must never be served stale. `private` and `no-store`
        /// are honoured either way.
        public var honorsResponseNoCache: Bool
        /// How long after going stale a response may still be served while one request refreshes it; `nil`
        /// serves nothing stale. A response that says `must-revalidate`, `proxy-revalidate` or `no-cache` is never
        /// served stale.
        public var staleWhileRevalidate: Duration?
        /// How long a stale response with a validator (`ETag` or `Last-Modified`) is kept after it goes stale (and
        /// after ``staleWhileRevalidate``), so that the handler is asked whether it changed (`If-None-Match`,
        /// `If-Modified-Since`) and can answer a cheap 304 instead of the whole response (RFC 9111 §4.3): 10 minutes
        /// by default; zero keeps it no longer than a response without a validator.
        public var revalidationRetention: Duration
        /// A response field listing the response's tags (such as `Cache-Tag` or `Surrogate-Key`, separated by
        /// commas or spaces), by which ``ResponseCache/invalidate(tag:)`` removes every stored response that has the
        /// tag, on every instance sharing the store. The field is taken off the response: clients never see it.
        /// `nil` (the default) reads no tags.
        public var tagField: HTTPField.Name?
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
        /// Where the middleware's spans (`stash.response_cache`) and its store's go; `nil`, the default, for the tracer
        /// bootstrapped with `InstrumentationSystem`, if any. Looked up once, when the middleware is made: with no
        /// tracer, tracing costs nothing.
        public var tracer: (any Tracer)? = nil

        /// Creates a configuration.
        /// - Parameters:
        ///   - storeName: The name of the store in the registry.
        ///   - cacheName: The cache's name in `Cache-Status`.
        ///   - methods: The methods whose responses are cached.
        ///   - cacheableStatuses: The status codes whose responses are stored: 2xx, 301 and 308 by default. A partial
        ///     206 is never stored; in ``Mode/responseHeaders``, any other final status is also stored when the
        ///     response gives its own freshness.
        ///   - responseFilter: A predicate on the request and its response that may keep a response out.
        ///   - lifetime: The default lifetime: 60 seconds.
        ///   - routeLifetimes: Lifetimes by path.
        ///   - lifetimeForRequest: Lifetimes by request, ahead of the other two.
        ///   - key: The base key of a request.
        ///   - mode: Where freshness comes from: ``Mode/configuredLifetimes`` by default.
        ///   - honorsResponseNoCache: Whether a response's `no-cache`, `max-age=0` or `s-maxage=0` keeps it out of
        ///     the cache (the default) rather than the configured lifetime winning.
        ///   - staleWhileRevalidate: The grace period in which a stale response is served during a refresh.
        ///   - revalidationRetention: How long a stale response with a validator is kept to be revalidated.
        ///   - tagField: The response field that lists a response's tags, if any.
        ///   - honorsRequestNoCache: Whether a request's `no-cache` bypasses the stored response.
        ///   - maximumBodySize: The largest body stored, in bytes: 1 MiB by default.
        ///   - logger: Where the cache logs.
        public init(
            storeName: String = "response_cache",
            cacheName: String = "Stash",
            methods: Set<HTTPRequest.Method> = [.get],
            cacheableStatuses: Set<Int> = Set(200...299).union([301, 308]),
            responseFilter: (@Sendable (StashRequest, StashResponse) -> Bool)? = nil,
            lifetime: Lifetime = .duration(.seconds(60)),
            routeLifetimes: [String: Lifetime] = [:],
            lifetimeForRequest: (@Sendable (StashRequest) -> Lifetime?)? = nil,
            key: @escaping @Sendable (StashRequest) -> String? = ResponseCache.defaultKey(for:),
            mode: Mode = .configuredLifetimes,
            honorsResponseNoCache: Bool = true,
            staleWhileRevalidate: Duration? = nil,
            revalidationRetention: Duration = .seconds(600),
            tagField: HTTPField.Name? = nil,
            honorsRequestNoCache: Bool = false,
            maximumBodySize: Int = 1024 * 1024,
            logger: Logger = Logger(label: "Stash.ResponseCache", factory: { _ in SwiftLogNoOpLogHandler() })
        ) {
            self.storeName = storeName
            self.cacheName = cacheName
            self.methods = methods
            self.cacheableStatuses = cacheableStatuses
            self.responseFilter = responseFilter
            self.lifetime = lifetime
            self.routeLifetimes = routeLifetimes
            self.lifetimeForRequest = lifetimeForRequest
            self.key = key
            self.mode = mode
            self.honorsResponseNoCache = honorsResponseNoCache
            self.staleWhileRevalidate = staleWhileRevalidate
            self.revalidationRetention = revalidationRetention
            self.tagField = tagField
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
