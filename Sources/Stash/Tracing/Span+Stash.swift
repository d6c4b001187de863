package import Tracing

extension Span {
    /// Records a failure on the span without its message (see ``TracedError``): the error, `error.type`, and an
    /// error status.
    package func recordFailure(_ error: any Error) {
        let traced = TracedError(error)
        self.recordError(traced)
        self.attributes["error.type"] = traced.type
        self.setStatus(SpanStatus(code: .error))
    }
}

extension Tracer {
    /// Runs `body` in a span that is the current span's child (`ServiceContext.current`), so that the spans started
    /// inside are this one's; a thrown error is recorded with ``Span/recordFailure(_:)`` and rethrown.
    package func withStashSpan<Result>(
        _ name: String,
        ofKind kind: SpanKind,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (any Tracing.Span) async throws -> Result
    ) async throws -> Result {
        let span: any Tracing.Span = self.startSpan(name, context: ServiceContext.current ?? .topLevel, ofKind: kind)
        defer { span.end() }
        do {
            return try await ServiceContext.withValue(span.context) { try await body(span) }
        } catch {
            span.recordFailure(error)
            throw error
        }
    }
}

/// Finding the tracer Stash's spans go to.
package enum StashTracing {
    /// The tracer to use: the one given, else the one bootstrapped with `InstrumentationSystem`; `nil` when that is
    /// the no-op tracer, so that code without tracing pays nothing for it.
    package static func tracer(_ configured: (any Tracer)?) -> (any Tracer)? {
        let tracer = configured ?? InstrumentationSystem.tracer
        return tracer is NoOpTracer ? nil : tracer
    }
}
