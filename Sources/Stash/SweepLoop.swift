import ServiceLifecycle

/// The background sweep every store with a `Service` runs: one loop per storage, a pass every interval, until
/// graceful shutdown or cancellation.
package enum SweepLoop {
    /// Runs the loop, unless another service of the same storage already does (`claim` returns `false`): then it
    /// only waits for graceful shutdown, so running several namespaces of one storage sweeps once.
    /// - Parameters:
    ///   - clock: The clock the interval is measured on (a manual clock in tests).
    ///   - interval: The time between the end of one pass and the start of the next.
    ///   - claim: Claims the storage's sweep; `false` when it is taken.
    ///   - release: Gives the claim back when the loop ends.
    ///   - pass: One sweep; it handles its own failures, so that one bad pass never ends the service.
    package static func run<C: Clock>(
        clock: C,
        every interval: Duration,
        claim: () -> Bool,
        release: () -> Void,
        pass: @escaping @Sendable () async -> Void
    ) async throws where C.Duration == Duration {
        guard claim() else {
            try? await gracefulShutdown()
            return
        }
        defer { release() }
        do {
            try await cancelWhenGracefulShutdown {
                while true {
                    try await clock.sleep(for: interval)
                    await pass()
                }
            }
        } catch is CancellationError {
            // Shutdown: the loop ends here.
        }
    }
}
