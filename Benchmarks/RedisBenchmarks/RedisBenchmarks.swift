import Benchmark
import Foundation
import NIOCore
import Stash
import StashRedis

/// RedisStore against a real server, at 1 and at 64 concurrent tasks. `scripts/bench-redis.sh` starts throw-away
/// servers — one in plain text, one over TLS, a cluster — runs these and `redis-benchmark` against each, and prints
/// both; or set `STASH_REDIS_URL` yourself (any URL `RedisStore` takes: `rediss://`, `redis+cluster://`).
///
/// One iteration is one command on one of 1,000 keys in turn (so that on a cluster they spread over every primary,
/// as `redis-benchmark -r 1000` does); with 64 tasks the iterations are shared among them, so the throughput row reads
/// as commands per second, comparable with `redis-benchmark -c 64`.
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
    // The same payload as `redis-benchmark -d 100`, under 1,000 keys.
    let value = ByteBuffer(repeating: 0x78, count: 100)
    let keys = (0..<1_000).map { "key:\($0)" }
    let fill: Benchmark.BenchmarkSetupHook = {
        for key in keys { try await store.set(key, value: value) }
    }

    Benchmark(
        "RedisStore get (hit), 1 task",
        closure: { benchmark in
            for iteration in benchmark.scaledIterations {
                blackHole(try await store.get(keys[iteration % keys.count]))
            }
        },
        setup: fill
    )

    // The near cache: a hit is served from process memory, beside a MemoryStore hit as its floor.
    let nearCached: RedisStore
    do {
        var configuration = try RedisConfiguration(url: url)
        configuration.nearCache = RedisNearCache()
        nearCached = try RedisStore(configuration: configuration).withNamespace("benchmarks")
    } catch {
        fatalError("STASH_REDIS_URL: \(error)")
    }
    let memory = MemoryStore()
    Benchmark(
        "RedisStore get (near-cache hit), 1 task",
        closure: { benchmark in
            for iteration in benchmark.scaledIterations {
                blackHole(try await nearCached.get(keys[iteration % keys.count]))
            }
        },
        setup: {
            try await fill()
            for key in keys { _ = try await nearCached.get(key) }
        }
    )
    Benchmark(
        "MemoryStore get (hit), 1 task",
        closure: { benchmark in
            for iteration in benchmark.scaledIterations {
                blackHole(try await memory.get(keys[iteration % keys.count]))
            }
        },
        setup: {
            for key in keys { try await memory.set(key, value: value) }
        }
    )

    Benchmark("RedisStore set, 1 task") { benchmark in
        for iteration in benchmark.scaledIterations {
            try await store.set(keys[iteration % keys.count], value: value)
        }
    }

    Benchmark(
        "RedisStore get (hit), 64 tasks",
        closure: { benchmark in
            try await concurrently(64, benchmark.scaledIterations.count) { index in
                blackHole(try await store.get(keys[index % keys.count]))
            }
        },
        setup: fill
    )

    Benchmark("RedisStore set, 64 tasks") { benchmark in
        try await concurrently(64, benchmark.scaledIterations.count) { index in
            try await store.set(keys[index % keys.count], value: value)
        }
    }
}

/// Runs `operation` `count` times in all, shared among `tasks` concurrent tasks; each run is given its own number.
func concurrently(_ tasks: Int, _ count: Int, _ operation: @escaping @Sendable (Int) async throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        for task in 0..<tasks {
            let share = count / tasks + (task < count % tasks ? 1 : 0)
            group.addTask {
                for run in 0..<share { try await operation(run * tasks + task) }
            }
        }
        try await group.waitForAll()
    }
}
