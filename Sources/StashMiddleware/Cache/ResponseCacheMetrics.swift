import Metrics

/// The counters of a ``ResponseCache``, made once.
///
/// `stash_response_cache_requests_total` counts each request once, by `outcome`: `hit` (served fresh from the
/// store), `stale` (served stale during a revalidation), `collapsed` (served the response of a concurrent miss),
/// `stored` (a miss whose response was stored), `miss` (a miss whose response was not stored), `bypass` (not
/// looked up: method, key builder). `stash_response_cache_invalidations_total` counts the unsafe requests whose
/// responses invalidated what was stored for them, and the invalidations by tag.
/// `stash_response_cache_revalidations_total` counts the conditional requests the cache made to the handler for
/// a stale stored response, by `result`: `not_modified` (a 304 refreshed it) and `modified` (a full response, or a
/// 304 about another response). `stash_response_cache_errors_total` counts failures, by `kind`: `store` (a
/// store read or write failed) and `corrupt_entry` (a stored entry could not be decoded).
///
/// When the cache traces, each says so on the span of the request's decision (`stash.response_cache`): the outcome as
/// `stash.cache.outcome`, a revalidation's result as `stash.cache.revalidation`, an invalidation as
/// `stash.cache.invalidated`, and a failure as `stash.cache.error` with the error recorded.
struct ResponseCacheMetrics: Sendable {
    let hit: TracedCounter
    let stale: TracedCounter
    let collapsed: TracedCounter
    let stored: TracedCounter
    let miss: TracedCounter
    let bypass: TracedCounter
    let invalidated: TracedCounter
    let revalidated: TracedCounter
    let modified: TracedCounter
    let storeError: TracedCounter
    let corruptEntry: TracedCounter

    init(traced: Bool) {
        func request(_ outcome: String) -> TracedCounter {
            TracedCounter(
                Counter(label: "stash_response_cache_requests_total", dimensions: [("outcome", outcome)]),
                .set("stash.cache.outcome", outcome),
                traced: traced
            )
        }
        func revalidation(_ result: String) -> TracedCounter {
            TracedCounter(
                Counter(label: "stash_response_cache_revalidations_total", dimensions: [("result", result)]),
                .set("stash.cache.revalidation", result),
                traced: traced
            )
        }
        func error(_ kind: String) -> TracedCounter {
            TracedCounter(
                Counter(label: "stash_response_cache_errors_total", dimensions: [("kind", kind)]),
                .append("stash.cache.error", kind),
                traced: traced
            )
        }
        self.hit = request("hit")
        self.stale = request("stale")
        self.collapsed = request("collapsed")
        self.stored = request("stored")
        self.miss = request("miss")
        self.bypass = request("bypass")
        self.invalidated = TracedCounter(
            Counter(label: "stash_response_cache_invalidations_total"),
            .set("stash.cache.invalidated", "true"),
            traced: traced
        )
        self.revalidated = revalidation("not_modified")
        self.modified = revalidation("modified")
        self.storeError = error("store")
        self.corruptEntry = error("corrupt_entry")
    }
}
