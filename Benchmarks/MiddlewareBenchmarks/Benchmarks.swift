import Benchmark

/// The middleware benchmarks, one function per middleware, each beside the baseline of a bare handler.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 100_000
    )
    registerCacheBenchmarks()
    registerSessionBenchmarks()
    registerRateLimitBenchmarks()
}
