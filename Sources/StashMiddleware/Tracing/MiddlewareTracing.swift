import Stash
import Tracing

/// A middleware's tracing, settled once when the middleware is made: its tracer (the configuration's, else the one
/// bootstrapped with `InstrumentationSystem`) and whether there is one.
struct MiddlewareTracing: Sendable {
    /// Where the decisions' spans go; `nil` when nothing traces.
    let tracer: (any Tracer)?
    /// Whether ``tracer`` is set. The middleware test this `Bool` on every request, not the optional existential:
    /// testing the existential cost a cache hit some 40 ns.
    let traces: Bool

    init(configured: (any Tracer)?) {
        self.tracer = StashTracing.tracer(configured)
        self.traces = self.tracer != nil
    }

    /// The middleware's store: `store` in a ``/Stash/TracingStore`` whose spans name `namespace` when it traces
    /// (unless it is one already), else `store` itself.
    func store(_ store: any Store, namespace: String) -> any Store {
        guard let tracer = self.tracer, !(store is TracingStore) else { return store }
        return TracingStore(store, namespace: namespace, tracer: tracer)
    }
}
