import HTTPTypes
import Logging
import Metrics
public import Stash
import Tracing

/// Response caching as a middleware: a response is stored in the store the first time it is asked for and replayed,
/// byte for byte, while it is fresh, without running the handler.
///
/// How long a response stays fresh depends on the ``Mode``: the lifetime the configuration gives its route
/// (``Mode/configuredLifetimes``, the default), or the response's own `s-maxage`, `max-age` or `Expires`, as a shared
/// HTTP cache (``Mode/responseHeaders``, RFC 9111). A stale response with a validator (`ETag`, `Last-Modified`) is
/// kept a while (``Configuration/revalidationRetention``) and revalidated: the handler is called with
/// `If-None-Match` / `If-Modified-Since`, and its 304 refreshes the stored response, whose body is served.
///
/// The key is the method, the path and the sorted query, plus the request fields the response's `Vary` names
/// (`Vary: *` is never cached); a custom key builder may replace the first part. `GET` is cached and `HEAD` answered
/// from it; statuses 2xx (but a partial 206), 301 and 308 are stored, and in ``Mode/responseHeaders`` any other final
/// status whose response gives its own freshness. Nothing is stored that could belong to one user: a response that
/// sets a cookie, says `Cache-Control: no-store` or `private`, answers a request with `Authorization` (unless it
/// says `public` or `s-maxage`), or whose handler read or changed the request's ``Session`` (with
/// ``SessionMiddleware`` in front of the cache or behind it). Nor is a response that says not to reuse it unchecked
/// (`no-cache`, `max-age=0`, `s-maxage=0`): in ``Mode/configuredLifetimes`` unless
/// ``Configuration/honorsResponseNoCache`` is turned off; in ``Mode/responseHeaders`` unless it has a validator, to
/// be revalidated before every use. Hits carry `Age`, an `If-None-Match` naming the stored `ETag` (or, without one,
/// an `If-Modified-Since` no earlier than the stored `Last-Modified`) gets 304, and every
/// response says what the cache did in `Cache-Status` (RFC 9211), such as `Stash; hit; ttl=12` or
/// `Stash; fwd=uri-miss; stored`. A stored response is served to every request with its key, with or without
/// `Authorization` or cookies: a response that depends on who asks must say so (`private`, `Vary`) or be kept out
/// by the key builder. A request's `Cache-Control: no-cache` is ignored unless ``Configuration/honorsRequestNoCache``
/// is set; its `no-store` keeps its own response from being stored.
///
/// Concurrent misses of one key run the handler once: the first runs it, the others wait and are served its
/// response — only when it was stored (never a response that could belong to one user); otherwise each runs its
/// own handler. With ``Configuration/staleWhileRevalidate``, a response that went stale less than that long ago is
/// still served to concurrent requests while one of them — the first, inline — runs the handler and is served the
/// fresh response (no task outlives a request).
///
/// A request with an unsafe method (`POST`, `PUT`, `DELETE`, `PATCH`, …) whose response is not an error (2xx, 3xx)
/// invalidates what is stored for its URL — every variant — and for the same-origin URLs its response names in
/// `Location` and `Content-Location` (RFC 9111 §4.4), on every instance sharing the store. With a
/// ``Configuration/tagField``, responses list their tags, and ``invalidate(tag:)`` removes every response with one.
///
/// A store that fails never fails a request: the handler answers it, and the failure is logged and counted. A
/// damaged entry is a miss, and is replaced by the next response stored.
///
/// Each cache keeps the last entries it decoded (at most 1,024 entries of up to 256 KiB, 16 MiB in all), so that a
/// hit on a stored value already decoded only compares its bytes; with a memory store the bytes are shared, with
/// other stores this is the extra memory a cache holds.
///
/// ```swift
/// let cache = try ResponseCache(
///     registry: registry,
///     configuration: .init(lifetime: .seconds(30), routeLifetimes: ["/static/logo.svg": .forever])
/// )
/// ```
///
/// Metrics: `stash_response_cache_requests_total` by `outcome` (`hit`, `stale`, `collapsed`, `stored`, `miss`,
/// `bypass`), `stash_response_cache_revalidations_total` by `result` (`not_modified`, `modified`),
/// `stash_response_cache_invalidations_total`, and `stash_response_cache_errors_total` by `kind` (`store`,
/// `corrupt_entry`).
///
/// Traces, when a tracer is bootstrapped (or ``Configuration/tracer`` set): each request is a span
/// `stash.response_cache` (the handler's spans, on a miss, are its children) whose attributes say the same as the
/// metrics: `stash.cache.outcome` (`hit`, `stale`, `collapsed`, `stored`, `miss`, `bypass`),
/// `stash.cache.revalidation` (`not_modified`, `modified`), `stash.cache.invalidated` (`true`), and
/// `stash.cache.error` (`store`, `corrupt_entry`) with the error recorded as its code; each store operation is a
/// span of ``/Stash/TracingStore`` with `stash.namespace` ``Configuration/storeName``. No URL, key or header value is
/// recorded.
public struct ResponseCache: HTTPMiddleware {
    /// The longest lifetime kept: the longest expiry a store takes.
    static let longestLifetime = StoreLimits.maximumExpiry

    let configuration: Configuration
    let store: any Store
    /// The cache's time, in milliseconds since the Unix epoch.
    let now: @Sendable () -> Int64
    let coalescer = RequestCoalescer()
    let decodedEntries = DecodedEntries()
    let metrics: ResponseCacheMetrics
    let tracing: MiddlewareTracing
    /// The cache's name as it appears in `Cache-Status`.
    let statusName: String
    /// The stale grace period in milliseconds, `nil` when none.
    let staleGrace: Int64?
    /// How long a stale response with a validator is kept to be revalidated, in milliseconds.
    let revalidationRetention: Int64
    /// Whether `GET` is a cached method (so `HEAD` is answered too), decided once.
    let cachesGet: Bool
    /// The `Cache-Status` of a hit on a response fresh for ever, made once.
    let foreverHitStatus: String

    /// Creates a cache whose store is the registry's store named ``Configuration/storeName``.
    /// - Throws: What the registry throws making the store.
    public init(registry: StoreRegistry, configuration: Configuration = .init()) throws {
        try self.init(store: registry.store(named: configuration.storeName), configuration: configuration)
    }

    /// Creates a cache on a given store.
    public init(store: any Store, configuration: Configuration = .init()) {
        self.init(store: store, configuration: configuration, clock: WallClock())
    }

    /// Creates a cache on a given store, timed by a clock of wall-clock instants (a manual clock in tests). Stored
    /// responses record when they were stored on this clock, so every instance sharing a store should read the
    /// same time.
    public init<C: Clock>(store: any Store, configuration: Configuration = .init(), clock: C) where C.Instant == WallClock.Instant {
        self.tracing = MiddlewareTracing(configured: configuration.tracer)
        self.store = self.tracing.store(store, namespace: configuration.storeName)
        self.metrics = ResponseCacheMetrics(traced: self.tracing.traces)
        self.configuration = configuration
        self.now = { clock.now.millisecondsSinceEpoch }
        self.statusName = CacheStatus.serializedName(configuration.cacheName)
        self.staleGrace = configuration.staleWhileRevalidate.flatMap { ResponseCache.Lifetime.duration($0).milliseconds ?? nil }
        self.revalidationRetention = ResponseCache.Lifetime.duration(configuration.revalidationRetention).milliseconds.flatMap { $0 } ?? 0
        self.cachesGet = configuration.methods.contains(.get)
        self.foreverHitStatus = CacheStatus(hit: true).serialized(name: self.statusName)
    }

    /// The largest response body the cache stores, in bytes (``Configuration/maximumBodySize``): what a framework
    /// adapter collects before it streams a body instead.
    public var maximumBodySize: Int {
        self.configuration.maximumBodySize
    }

    /// ``maximumBodySize``: a framework adapter collects bodies up to it for the cache.
    public var collectedBodyLimit: Int? {
        self.configuration.maximumBodySize
    }

    /// The default base key of a request: `METHOD /path?query`, with the query's parameters sorted.
    public static func defaultKey(for request: StashRequest) -> String? {
        CacheKeys.defaultKey(for: request)
    }

    /// Answers from the store, or calls `next` and stores its response; in a span `stash.response_cache` when the
    /// cache traces.
    public func respond(to request: StashRequest, next: (StashRequest) async throws -> StashResponse) async throws -> StashResponse {
        if self.tracing.traces { return try await self.traced(request, next: next) }
        return try await self.decide(request, next: next)
    }

    /// ``respond(to:next:)`` in a span: apart, so that the path without a tracer is what it was before spans.
    @inline(never)
    private func traced(_ request: StashRequest, next: (StashRequest) async throws -> StashResponse) async throws -> StashResponse {
        try await DecisionSpan.run("stash.response_cache", tracer: self.tracing.tracer) { try await self.decide(request, next: next) }
    }

    @inline(__always)
    private func decide(_ request: StashRequest, next: (StashRequest) async throws -> StashResponse) async throws -> StashResponse {
        let method = request.head.method
        let isHead = method == .head && self.cachesGet
        guard method == .get ? self.cachesGet : isHead || self.configuration.methods.contains(method) else {
            if !Self.safeMethods.contains(method) { return try await self.passUnsafe(request, next: next) }
            return try await self.bypass(request, next: next, forward: .method)
        }
        let lifetime = self.configuration.lifetime(for: request)
        guard lifetime != .notCached, let base = self.baseKey(for: request, isHead: isHead) else {
            return try await self.bypass(request, next: next, forward: .bypass)
        }
        let fields = request.head.headerFields
        let directives = fields.contains(.cacheControl) ? CacheControl(fields) : CacheControl()
        let context = MissContext(base: base, lifetime: lifetime, directives: directives, isHead: isHead)
        if self.configuration.honorsRequestNoCache, directives.noCache || fields[values: .pragma].contains("no-cache") {
            return try await self.forward(request, next: next, context: context, status: CacheStatus(forward: .request))
        }

        let lookup: Lookup
        do {
            lookup = try await self.lookUp(base: base, request: request)
        } catch {
            self.metrics.storeError.increment(recording: error)
            self.configuration.logger.debug("response cache store read failed", metadata: ["key": "\(base)", "error": "\(error)"])
            self.metrics.miss.increment()
            var response = try await next(request)
            self.addStatus(CacheStatus(forward: .uriMiss, detail: "store-error"), to: &response)
            return response
        }

        switch lookup {
        case .missing(let key, let reason):
            return try await self.miss(request, next: next, key: key, reason: reason, context: context)
        case .found(let entry, let key):
            let now = self.now()
            let freshness = entry.freshness(at: now)
            if freshness.map({ $0 > 0 }) ?? true {
                self.metrics.hit.increment()
                let status = freshness.map { CacheStatus(hit: true, ttl: CacheStatus.seconds($0)).serialized(name: self.statusName) }
                return self.serve(entry, to: request, isHead: isHead, now: now, status: status ?? self.foreverHitStatus)
            }
            if let grace = self.staleGrace, -(freshness ?? 0) <= grace, self.mayServeStale(entry) {
                return try await self.revalidate(entry, key: key, request: request, next: next, context: context, now: now)
            }
            return try await self.miss(request, next: next, key: key, reason: .stale, context: context, stale: (entry, key))
        }
    }

    /// Whether a stale response may be served while it is refreshed: not when it says `must-revalidate`,
    /// `proxy-revalidate` or `no-cache` (RFC 9111 §4.2.4).
    func mayServeStale(_ entry: CachedResponse) -> Bool {
        let directives = self.responseDirectives(entry.headerFields).directives
        return !directives.mustRevalidate && !directives.noCache
    }

    /// The store key of a request's URL, `nil` when the key builder leaves it uncached.
    func baseKey(for request: StashRequest, isHead: Bool) -> String? {
        guard isHead else { return self.configuration.key(request).map(CacheKeys.storeKey(base:)) }
        var get = request
        get.head.method = .get
        return self.configuration.key(get).map(CacheKeys.storeKey(base:))
    }

    /// Passes a request the cache does not handle to the handler, saying so in `Cache-Status`.
    private func bypass(
        _ request: StashRequest,
        next: (StashRequest) async throws -> StashResponse,
        forward: CacheStatus.Forward
    ) async throws -> StashResponse {
        self.metrics.bypass.increment()
        var response = try await next(request)
        self.addStatus(CacheStatus(forward: forward), to: &response)
        return response
    }

    /// Adds the cache's `Cache-Status` member after any a cache nearer the handler added.
    func addStatus(_ status: CacheStatus, to response: inout StashResponse) {
        response.head.headerFields.append(HTTPField(name: .cacheStatus, value: status.serialized(name: self.statusName)))
    }
}
