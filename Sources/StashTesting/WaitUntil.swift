package import Testing

/// Polls a condition until it holds, failing the test after 30 seconds: for work a background task does (a sweep,
/// an automatic save) once a manual clock has been advanced.
package func waitUntil(sourceLocation: SourceLocation = #_sourceLocation, _ condition: () -> Bool) async throws {
    // Generous: on a loaded machine a background pass can wait behind many queued jobs; polling costs nothing
    // once the condition holds.
    let deadline = ContinuousClock.now + .seconds(30)
    while !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("condition not met within 30 s", sourceLocation: sourceLocation)
            return
        }
        try await Task.sleep(for: .milliseconds(1))
    }
}
