import Stash
import Tracing

/// The span of a middleware's decision, while the decision runs, for its ``TracedCounter``s to record outcomes on.
enum DecisionSpan {
    /// The span of the decision running in this task; `nil` outside one, or when its middleware has no tracer.
    @TaskLocal static var current: (any Span)?

    /// Runs `body` in a span of its own when `tracer` is set, else just runs it.
    ///
    /// The span is the current span's child, spans started inside (the store's, a handler's) are its children, and
    /// an error `body` throws is recorded on it (without its message).
    static func run<Result>(
        _ name: String,
        tracer: (any Tracer)?,
        isolation: isolated (any Actor)? = #isolation,
        _ body: () async throws -> Result
    ) async throws -> Result {
        guard let tracer else { return try await body() }
        return try await tracer.withStashSpan(name, ofKind: .internal) { span in
            try await DecisionSpan.$current.withValue(span) { try await body() }
        }
    }
}
