import StashMiddleware
import Testing

/// Expects `body` to throw a ``StashMiddlewareError`` with the code `invalidConfiguration`.
func expectInvalidConfiguration<Result>(sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Result) {
    let error = #expect(throws: StashMiddlewareError.self, sourceLocation: sourceLocation) { _ = try body() }
    #expect(error?.code == .invalidConfiguration, sourceLocation: sourceLocation)
}
