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
struct ResponseCacheMetrics: Sendable {
    let hit: Counter
    let stale: Counter
    let collapsed: Counter
    let stored: Counter
    let miss: Counter
    let bypass: Counter
    let invalidated: Counter
    let revalidated: Counter
    let modified: Counter
    let storeError: Counter
    let corruptEntry: Counter

    init() {
        func request(_ outcome: String) -> Counter {
            Counter(label: "stash_response_cache_requests_total", dimensions: [("outcome", outcome)])
        }
        func error(_ kind: String) -> Counter {
            Counter(label: "stash_response_cache_errors_total", dimensions: [("kind", kind)])
        }
        self.hit = request("hit")
        self.stale = request("stale")
        self.collapsed = request("collapsed")
        self.stored = request("stored")
        self.miss = request("miss")
        self.bypass = request("bypass")
        self.invalidated = Counter(label: "stash_response_cache_invalidations_total")
        self.revalidated = Counter(label: "stash_response_cache_revalidations_total", dimensions: [("result", "not_modified")])
        self.modified = Counter(label: "stash_response_cache_revalidations_total", dimensions: [("result", "modified")])
        self.storeError = error("store")
        self.corruptEntry = error("corrupt_entry")
    }
}
