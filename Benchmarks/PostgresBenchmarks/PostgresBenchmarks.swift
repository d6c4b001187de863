import Benchmark
import Foundation
import NIOCore
import Stash
import StashPostgres
import Synchronization

// PostgresStore against a real server: scripts/bench-postgres.sh starts one, fills the table, runs pgbench with the
// same single-row SELECT beside these, and prints both. Each benchmark iteration is 1,000 operations (`.kilo`), run
// by one task or shared among 32 concurrent tasks, so the throughput column reads as operations per second.

/// The store under test, run as a Service for as long as the benchmarks need it.
final class RunningStore: Sendable {
    let store: PostgresStore
    private let task = Mutex<Task<Void, any Error>?>(nil)

    init(url: String, maximumConnections: Int) throws {
        var connection = try PostgresStore.Connection(url: url)
        connection.maximumConnections = maximumConnections
        var configuration = PostgresStore.Configuration(tableName: "stash_bench")
        // STASH_BENCH_SHARED_CONNECTIONS=0 measures postgres-nio's pool alone, without the store's shared connections.
        if let shared = ProcessInfo.processInfo.environment["STASH_BENCH_SHARED_CONNECTIONS"].flatMap({ Int($0) }) {
            configuration.sharedConnections = shared
        }
        self.store = try PostgresStore(connection: connection, configuration: configuration)
    }

    func start() {
        self.task.withLock { task in
            guard task == nil else { return }
            let store = self.store
            task = Task { try await store.service.run() }
        }
    }

    func stop() {
        self.task.withLock { task in
            task?.cancel()
            task = nil
        }
    }
}

/// Runs `count` operations spread over `tasks` concurrent tasks.
func concurrently(_ count: Int, tasks: Int, _ operation: @escaping @Sendable (Int) async throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        for task in 0..<tasks {
            let share = count / tasks + (task < count % tasks ? 1 : 0)
            group.addTask {
                for _ in 0..<share {
                    try await operation(task)
                }
            }
        }
        try await group.waitForAll()
    }
}

let benchmarks: @Sendable () -> Void = {
    guard let url = ProcessInfo.processInfo.environment["STASH_POSTGRES_URL"], !url.isEmpty else {
        fatalError("STASH_POSTGRES_URL is not set: run scripts/bench-postgres.sh, which starts a throw-away PostgreSQL and sets it")
    }
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        scalingFactor: .kilo,
        maxDuration: .seconds(10),
        maxIterations: 1_000
    )

    // As many connections as pgbench's clients at -c 32.
    let running: RunningStore
    do {
        running = try RunningStore(url: url, maximumConnections: 32)
    } catch {
        fatalError("cannot make the store from STASH_POSTGRES_URL: \(error)")
    }
    let store: PostgresStore
    do {
        store = try running.store.withNamespace("bench")
    } catch {
        fatalError("\(error)")
    }
    let value = ByteBuffer(repeating: 0x61, count: 100)
    let hitKey = "user:4321:session"
    let setup: Benchmark.BenchmarkSetupHook = {
        running.start()
        // The same rows bench-postgres.sh gives pgbench: it wrote them; make sure the hit key is there.
        try await store.set(hitKey, value: value, expiresIn: .seconds(3600))
    }
    let teardown: Benchmark.BenchmarkTeardownHook = {
        running.stop()
    }

    for tasks in [1, 32] {
        Benchmark(
            "PostgresStore get (hit), \(tasks) task\(tasks == 1 ? "" : "s")",
            closure: { benchmark in
                try await concurrently(benchmark.scaledIterations.count, tasks: tasks) { _ in
                    blackHole(try await store.get(hitKey))
                }
            },
            setup: setup,
            teardown: teardown
        )

        Benchmark(
            "PostgresStore set (overwrite, with expiry), \(tasks) task\(tasks == 1 ? "" : "s")",
            closure: { benchmark in
                // One key per task, as writers of different sessions would: no two wait on one row lock.
                try await concurrently(benchmark.scaledIterations.count, tasks: tasks) { task in
                    try await store.set("user:\(task):session", value: value, expiresIn: .seconds(3600))
                }
            },
            setup: setup,
            teardown: teardown
        )
    }

    postgresNIOFloorBenchmarks(url: url)
}
