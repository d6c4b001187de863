import ServiceLifecycle

/// The background sweep of a store's service: a pass every interval, until graceful shutdown or cancellation.
package enum SweepLoop {
    /// Runs the loop.
    /// - Parameters:
    ///   - clock: The clock the interval is measured on (a manual clock in tests).
    ///   - interval: The time between the end of one pass and the start of the next.
    ///   - pass: One sweep; it handles its own failures, so that one bad pass never ends the service.
    package static func run<C: Clock>(
        clock: C,
        every interval: Duration,
        pass: @escaping @Sendable () async -> Void
    ) async throws where C.Duration == Duration {
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
