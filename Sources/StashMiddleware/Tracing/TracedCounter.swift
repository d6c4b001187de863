import Metrics
import Stash
import Tracing

/// A counter of a middleware's outcome that also says it on the span of the decision running
/// (``DecisionSpan/current``), when its middleware traces.
struct TracedCounter: Sendable {
    /// How an outcome shows on the span.
    enum Attribute: Sendable {
        /// Sets the attribute `key` to `value`: one outcome per decision.
        case set(String, String)
        /// Appends `value` to the string-array attribute `key`: a decision with several outcomes.
        case append(String, String)
    }

    let counter: Counter
    let attribute: Attribute
    /// Whether the middleware traces: without a tracer, an outcome costs the counter only.
    let traced: Bool

    init(_ counter: Counter, _ attribute: Attribute, traced: Bool) {
        self.counter = counter
        self.attribute = attribute
        self.traced = traced
    }

    /// Counts the outcome and says it on the decision's span.
    func increment() {
        self.counter.increment()
        if self.traced { self.recordOnSpan() }
    }

    /// Apart and never inlined: the code that says an outcome on a span stays out of the middleware's hot paths.
    @inline(never)
    private func recordOnSpan() {
        if let span = DecisionSpan.current { self.record(on: span) }
    }

    /// Counts a failure the middleware recovered from, and records it on the decision's span (without its message).
    func increment(recording error: any Error) {
        self.counter.increment()
        guard self.traced, let span = DecisionSpan.current else { return }
        self.record(on: span)
        let traced = TracedError(error)
        span.recordError(traced, attributes: ["error.type": .string(traced.type)])
    }

    private func record(on span: any Span) {
        switch self.attribute {
        case .set(let key, let value):
            span.attributes[key] = value
        case .append(let key, let value):
            span.updateAttributes { attributes in
                if case .stringArray(let values) = attributes.get(key) {
                    attributes[key] = values + [value]
                } else {
                    attributes[key] = [value]
                }
            }
        }
    }
}
