import Benchmark
import Logging
import NIOCore
import PostgresNIO
import StashPostgres
import Synchronization

// postgres-nio on its own, running the store's get as a static prepared statement: the floor any store on
// postgres-nio stands on. Two shapes: every statement leasing a connection from `PostgresClient`'s pool
// (`client.execute`, postgres-nio's documented path), and each task holding one connection for all its statements
// (as each pgbench client does). PostgresStore's get rows read against these.

/// The store's get on the benchmark's table, as postgres-nio's documentation writes a prepared statement.
struct BenchGet: PostgresPreparedStatement {
    static let name = "bench_get"
    static let sql = """
        SELECT value FROM "stash_bench" WHERE namespace = $1 AND key = $2 \
        AND (expires_at IS NULL OR expires_at > clock_timestamp())
        """
    typealias Row = ByteBuffer

    var namespace: String
    var key: ByteBuffer

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 2)
        bindings.append(self.namespace)
        bindings.append(self.key)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> ByteBuffer {
        try row.decode(ByteBuffer.self)
    }
}

/// A `PostgresClient` of 32 connections, run for as long as the benchmarks need it.
final class RunningClient: Sendable {
    let client: PostgresClient
    private let task = Mutex<Task<Void, Never>?>(nil)

    init(url: String, maximumConnections: Int) throws {
        // The URL read as the store reads it.
        let connection = try PostgresStore.Connection(url: url)
        var configuration = PostgresClient.Configuration(
            host: connection.host,
            port: connection.port,
            username: connection.username,
            password: connection.password,
            database: connection.database,
            tls: .disable
        )
        configuration.options.maximumConnections = maximumConnections
        configuration.options.minimumConnections = maximumConnections
        self.client = PostgresClient(configuration: configuration, backgroundLogger: Logger(label: "bench-floor"))
    }

    func start() {
        self.task.withLock { task in
            guard task == nil else { return }
            let client = self.client
            task = Task { await client.run() }
        }
    }

    func stop() {
        self.task.withLock { task in
            task?.cancel()
            task = nil
        }
    }
}

func postgresNIOFloorBenchmarks(url: String) {
    let running: RunningClient
    do {
        running = try RunningClient(url: url, maximumConnections: 32)
    } catch {
        fatalError("cannot make a PostgresClient from STASH_POSTGRES_URL: \(error)")
    }
    let client = running.client
    let logger = Logger(label: "bench-floor")
    let statement = BenchGet(namespace: "bench/", key: ByteBuffer(string: "user:4321:session"))
    let setup: Benchmark.BenchmarkSetupHook = {
        running.start()
        // Fill the pool before measuring: one statement per connection.
        try await concurrently(32, tasks: 32) { _ in
            for try await row in try await client.execute(statement, logger: logger) { blackHole(row) }
        }
    }
    let teardown: Benchmark.BenchmarkTeardownHook = {
        running.stop()
    }

    for tasks in [1, 32] {
        let suffix = "\(tasks) task\(tasks == 1 ? "" : "s")"
        Benchmark(
            "postgres-nio alone get, pool lease per statement, \(suffix)",
            closure: { benchmark in
                try await concurrently(benchmark.scaledIterations.count, tasks: tasks) { _ in
                    for try await row in try await client.execute(statement, logger: logger) { blackHole(row) }
                }
            },
            setup: setup,
            teardown: teardown
        )

        Benchmark(
            "postgres-nio alone get, one connection per task, \(suffix)",
            closure: { benchmark in
                let count = benchmark.scaledIterations.count
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for task in 0..<tasks {
                        let share = count / tasks + (task < count % tasks ? 1 : 0)
                        group.addTask {
                            try await client.withConnection { connection in
                                for _ in 0..<share {
                                    for try await row in try await connection.execute(statement, logger: logger) { blackHole(row) }
                                }
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            },
            setup: setup,
            teardown: teardown
        )
    }
}
