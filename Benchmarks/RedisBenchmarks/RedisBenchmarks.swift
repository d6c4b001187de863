import Benchmark
import Foundation
import NIOCore
import Stash
import StashRedis

/// RedisStore against a real server, at 1 and at 64 concurrent tasks. `scripts/bench-redis.sh` starts a throw-away
/// server, runs these and `redis-benchmark` against it, and prints both; or set `STASH_REDIS_URL` yourself.
///
/// One iteration is one command; with 64 tasks the iterations are shared among them, so the throughput row reads as
/// commands per second, comparable with `redis-benchmark -c 64`.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        scalingFactor: .kilo,
        maxDuration: .seconds(5),
        maxIterations: 1_000
    )

    guard let url = ProcessInfo.processInfo.environment["STASH_REDIS_URL"] else {
        fatalError("RedisBenchmarks need a server: run scripts/bench-redis.sh, or set STASH_REDIS_URL=redis://host:port/db")
    }
    let store: RedisStore
    do {
        store = try RedisStore(url: url).withNamespace("benchmarks")
    } catch {
        fatalError("STASH_REDIS_URL: \(error)")
    }
    // The same payload as `redis-benchmark -d 100`.
    let value = ByteBuffer(repeating: 0x78, count: 100)
    let key = "key"
    let fill: Benchmark.BenchmarkSetupHook = {
        try await store.set(key, value: value)
    }

    Benchmark(
        "RedisStore get (hit), 1 task",
        closure: { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try await store.get(key))
            }
        },
        setup: fill
    )

    Benchmark("RedisStore set, 1 task") { benchmark in
        for _ in benchmark.scaledIterations {
            try await store.set(key, value: value)
        }
    }

    Benchmark(
        "RedisStore get (hit), 64 tasks",
        closure: { benchmark in
            try await concurrently(64, benchmark.scaledIterations.count) {
                blackHole(try await store.get(key))
            }
        },
        setup: fill
    )

    Benchmark("RedisStore set, 64 tasks") { benchmark in
        try await concurrently(64, benchmark.scaledIterations.count) {
            try await store.set(key, value: value)
        }
    }
}

/// Runs `operation` `count` times in all, shared among `tasks` concurrent tasks.
func concurrently(_ tasks: Int, _ count: Int, _ operation: @escaping @Sendable () async throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        for task in 0..<tasks {
            let share = count / tasks + (task < count % tasks ? 1 : 0)
            group.addTask {
                for _ in 0..<share { try await operation() }
            }
        }
        try await group.waitForAll()
    }
}
