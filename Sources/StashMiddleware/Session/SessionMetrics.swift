import Metrics

/// The counters of `stash_sessions_total`, one per outcome.
struct SessionMetrics: Sendable {
    /// A new session was stored.
    let created: Counter
    /// A request's cookie named a session the store holds.
    let loaded: Counter
    /// A request's changes were merged into its stored session.
    let saved: Counter
    /// Sliding expiry renewed a session's expiry and cookie.
    let renewed: Counter
    /// A session was deleted by ``Session/destroy()``, or because its last value was removed.
    let destroyed: Counter
    /// A session moved to a new id.
    let regenerated: Counter
    /// A request's cookie was not a session: malformed, unknown to the store (expired, forged) or unreadable.
    let rejected: Counter
    /// A request's changes were dropped because its session was deleted or expired while the request ran.
    let discarded: Counter

    init() {
        func counter(_ outcome: String) -> Counter {
            Counter(label: "stash_sessions_total", dimensions: [("outcome", outcome)])
        }
        self.created = counter("created")
        self.loaded = counter("loaded")
        self.saved = counter("saved")
        self.renewed = counter("renewed")
        self.destroyed = counter("destroyed")
        self.regenerated = counter("regenerated")
        self.rejected = counter("rejected")
        self.discarded = counter("discarded")
    }
}
