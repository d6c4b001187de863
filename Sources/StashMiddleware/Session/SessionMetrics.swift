import Metrics

/// The counters of `stash_sessions_total`, one per outcome.
///
/// When the middleware traces, each outcome is also appended to the string-array attribute `stash.session.outcome`
/// of the span running (`stash.session.load` or `stash.session.save`).
struct SessionMetrics: Sendable {
    /// A new session was stored.
    let created: TracedCounter
    /// A request's cookie named a session the store holds.
    let loaded: TracedCounter
    /// A request's changes were merged into its stored session.
    let saved: TracedCounter
    /// Sliding expiry renewed a session's expiry and cookie.
    let renewed: TracedCounter
    /// A session was deleted by ``Session/destroy()``, or because its last value was removed.
    let destroyed: TracedCounter
    /// A session moved to a new id.
    let regenerated: TracedCounter
    /// A request's cookie was not a session: malformed, unknown to the store (expired, forged) or unreadable.
    let rejected: TracedCounter
    /// A request's changes were dropped because its session was deleted or expired while the request ran.
    let discarded: TracedCounter

    init(traced: Bool) {
        func counter(_ outcome: String) -> TracedCounter {
            TracedCounter(
                Counter(label: "stash_sessions_total", dimensions: [("outcome", outcome)]),
                .append("stash.session.outcome", outcome),
                traced: traced
            )
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
