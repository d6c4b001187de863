import Foundation
import Stash
import StashPostgres
import StashTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The PostgreSQL `scripts/test.sh` started. A test that needs it and cannot find or reach it fails: it never skips.
enum PostgresTestServer {
    struct Missing: Error, CustomStringConvertible {
        var variable: String
        var description: String {
            "\(self.variable) is not set: run the PostgreSQL tests through scripts/test.sh, which starts a throw-away PostgreSQL"
        }
    }

    static func url() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["STASH_POSTGRES_URL"], !url.isEmpty else {
            throw Missing(variable: "STASH_POSTGRES_URL")
        }
        return url
    }

    /// The directory of the server's programs (initdb, pg_ctl), for tests that run a server of their own.
    static func binDirectory() throws -> String {
        guard let directory = ProcessInfo.processInfo.environment["STASH_POSTGRES_BIN"], !directory.isEmpty else {
            throw Missing(variable: "STASH_POSTGRES_BIN")
        }
        return directory
    }

    /// The connection to that server, with a pool small enough for many tests at once.
    static func connection() throws -> PostgresStore.Connection {
        var connection = try PostgresStore.Connection(url: self.url())
        connection.maximumConnections = 8
        return connection
    }

    /// A name no other test uses, for a table or a namespace.
    static func uniqueName(_ prefix: String) -> String {
        prefix + "_" + UUID().uuidString.prefix(8).lowercased()
    }
}

/// Runs `body` with a store running as a `Service` (its pool and its purge), then stops it.
func withRunningStore<Result: Sendable>(
    _ store: PostgresStore,
    _ body: @Sendable (PostgresStore) async throws -> Result
) async throws -> Result {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await store.service.run() }
        defer { group.cancelAll() }
        return try await body(store)
    }
}

extension PostgresStore.Configuration {
    /// The configuration of the tests' stores: a table (shared by default), values up to 1 MiB, a generous timeout.
    static func testing(table: String = "stash_tests") -> Self {
        .init(tableName: table, maximumValueSize: 1024 * 1024, timeout: .seconds(30))
    }
}

/// Runs `body` with a running store on the test server.
func withPostgresStore<Result: Sendable>(
    _ configuration: PostgresStore.Configuration = .testing(),
    _ body: @Sendable (PostgresStore) async throws -> Result
) async throws -> Result {
    let store = try PostgresStore(connection: PostgresTestServer.connection(), configuration: configuration)
    return try await withRunningStore(store, body)
}

/// Runs a program to its end (as a ``ChildProcess``: no descriptor of the test process is handed on, which matters
/// to `pg_ctl start`, whose server would keep it open), two minutes at most.
/// - Returns: Its exit status and what it printed.
@discardableResult
func runProgram(_ path: String, _ arguments: [String], asPostgresOwner: Bool = false) async throws -> (status: Int32, output: String) {
    // PostgreSQL's programs refuse to run as root.
    let command = asPostgresOwner && getuid() == 0 ? ["runuser", "-u", "postgres", "--", path] + arguments : [path] + arguments
    let (status, output) = try await ChildProcess.run(command, timeout: .seconds(120))
    guard let status else {
        throw PostgresCluster.ClusterFailure(description: "\(command.joined(separator: " ")) did not end within two minutes: \(output)")
    }
    return (status, output)
}

/// A PostgreSQL server of a test's own, which it stops and starts again: password authentication for the
/// superuser `postgres` over loopback TCP.
final class PostgresCluster: Sendable {
    static let password = "cluster-secret"

    let directory: String
    let binDirectory: String
    let port: Int

    private init(directory: String, binDirectory: String, port: Int) {
        self.directory = directory
        self.binDirectory = binDirectory
        self.port = port
    }

    /// Creates a cluster in a new temporary directory and starts it on a free port.
    static func start() async throws -> PostgresCluster {
        let bin = try PostgresTestServer.binDirectory()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stash-cluster-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if getuid() == 0 {
            try FileManager.default.setAttributes([.ownerAccountName: "postgres"], ofItemAtPath: directory)
        }
        let passwordFile = directory + "/password"
        _ = FileManager.default.createFile(atPath: passwordFile, contents: Data(Self.password.utf8))
        if getuid() == 0 {
            try FileManager.default.setAttributes([.ownerAccountName: "postgres"], ofItemAtPath: passwordFile)
        }
        let initdb = try await runProgram(
            bin + "/initdb",
            [
                "-D", directory + "/data", "-U", "postgres", "--auth-host=scram-sha-256", "--auth-local=trust", "--pwfile=" + passwordFile, "-E",
                "UTF8", "--no-locale",
            ],
            asPostgresOwner: true
        )
        guard initdb.status == 0 else {
            throw ClusterFailure(description: "initdb failed: \(initdb.output)")
        }
        for _ in 0..<20 {
            let cluster = PostgresCluster(directory: directory, binDirectory: bin, port: Int.random(in: 20_000...40_000))
            if try await cluster.startServer() { return cluster }
        }
        throw ClusterFailure(description: "the test's own PostgreSQL did not start on any of 20 ports")
    }

    struct ClusterFailure: Error, CustomStringConvertible {
        var description: String
    }

    /// The URL of the superuser with the right password (or a given one).
    func url(password: String = PostgresCluster.password) -> String {
        "postgres://postgres:\(password)@127.0.0.1:\(self.port)/postgres"
    }

    /// Starts the server and waits until it accepts connections.
    /// - Returns: Whether it started (it does not when its port is taken).
    @discardableResult
    func startServer() async throws -> Bool {
        let options = "-c listen_addresses=127.0.0.1 -p \(self.port) -k \(self.directory) -c fsync=off"
        let result = try await runProgram(
            self.binDirectory + "/pg_ctl",
            ["-D", self.directory + "/data", "-l", self.directory + "/server.log", "-w", "-t", "30", "-o", options, "start"],
            asPostgresOwner: true
        )
        return result.status == 0
    }

    /// Stops the server at once, as a crash would (`immediate`): open connections are cut.
    func stopServer() async throws {
        try await runProgram(self.binDirectory + "/pg_ctl", ["-D", self.directory + "/data", "-m", "immediate", "-w", "stop"], asPostgresOwner: true)
    }

    /// Stops the server and removes its directory.
    func remove() async {
        _ = try? await self.stopServer()
        try? FileManager.default.removeItem(atPath: self.directory)
    }
}
