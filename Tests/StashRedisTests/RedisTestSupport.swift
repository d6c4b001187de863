import Foundation
import NIOPosix
import Stash
import StashRedis
import StashTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The redis-server `scripts/test.sh` started. A test that needs it and cannot find it fails: it never skips.
enum RedisTestServer {
    struct Missing: Error, CustomStringConvertible {
        var variable = "STASH_REDIS_URL"
        var description: String {
            "\(self.variable) is not set: run the Redis tests through scripts/test.sh, which starts redis-server and valkey-server"
        }
    }

    static func url() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["STASH_REDIS_URL"], !url.isEmpty else { throw Missing() }
        return url
    }

    /// The port of that server.
    static func port() throws -> Int {
        try RedisConfiguration(url: self.url()).port
    }

    /// One store (one connection pool) shared by the tests that only need a store.
    static let shared: Result<RedisStore, any Error> = Result { try RedisStore(url: RedisTestServer.url()) }

    /// A namespace of the shared store that no other test uses.
    static func freshNamespace() throws -> RedisStore {
        try self.shared.get().withNamespace("test-" + UUID().uuidString.prefix(8).lowercased())
    }

    /// The servers the store's conformance suite runs against: Debian's redis-server, in plain text, over TLS, as a
    /// cluster and as a cluster over TLS, and valkey-server.
    enum Server: String, CaseIterable, Sendable, CustomStringConvertible {
        case redis
        case valkey
        case redisOverTLS = "redis over TLS"
        case cluster = "redis cluster"
        case clusterOverTLS = "redis cluster over TLS"
        case redisNearCache = "redis with a near cache"
        case valkeyNearCache = "valkey with a near cache"
        case clusterNearCache = "redis cluster with a near cache"

        var description: String { self.rawValue }

        /// The name `STASH_TEST_STORES` gives the server (see `TestStores`).
        var storeName: String {
            switch self {
            case .redis: "redis"
            case .valkey: "valkey"
            case .redisOverTLS: "redis-tls"
            case .cluster: "redis-cluster"
            case .clusterOverTLS: "redis-cluster-tls"
            case .redisNearCache: "redis-near-cache"
            case .valkeyNearCache: "valkey-near-cache"
            case .clusterNearCache: "redis-cluster-near-cache"
            }
        }

        /// The servers the conformance suite runs on: those `STASH_TEST_STORES` names, or the plain redis-server.
        /// `scripts/test.sh` runs it on the others in a phase of their own, with the middleware tests.
        static var chosen: [Server] {
            guard let names = ProcessInfo.processInfo.environment["STASH_TEST_STORES"]?.split(separator: ",") else {
                return [.redis]
            }
            return Self.allCases.filter { names.contains(Substring($0.storeName)) }
        }

        /// The store on the server, shared by the tests that only need a store.
        static let stores: [Server: Result<RedisStore, any Error>] = [
            .redis: RedisTestServer.shared,
            .valkey: Result { try RedisStore(url: Self.valkey.url()) },
            .redisOverTLS: Result { try RedisStore(url: Self.redisOverTLS.url()) },
            .cluster: Result { try RedisStore(url: Self.cluster.url()) },
            .clusterOverTLS: Result { try RedisStore(url: Self.clusterOverTLS.url()) },
            .redisNearCache: Result { try Self.redisNearCache.nearCachedStore() },
            .valkeyNearCache: Result { try Self.valkeyNearCache.nearCachedStore() },
            .clusterNearCache: Result { try Self.clusterNearCache.nearCachedStore() },
        ]

        /// The environment variable `scripts/test.sh` gives the server's URL in.
        var variable: String {
            switch self {
            case .redis: "STASH_REDIS_URL"
            case .valkey: "STASH_VALKEY_URL"
            case .redisOverTLS: "STASH_REDIS_TLS_URL"
            case .cluster: "STASH_REDIS_CLUSTER_URL"
            case .clusterOverTLS: "STASH_REDIS_TLS_CLUSTER_URL"
            case .redisNearCache: "STASH_REDIS_URL"
            case .valkeyNearCache: "STASH_VALKEY_URL"
            case .clusterNearCache: "STASH_REDIS_CLUSTER_URL"
            }
        }

        /// A store of its own on the server, with a near cache.
        func nearCachedStore() throws -> RedisStore {
            var configuration = try RedisConfiguration(url: self.url())
            configuration.nearCache = RedisNearCache()
            return try RedisStore(configuration: configuration)
        }

        func url() throws -> String {
            guard let url = ProcessInfo.processInfo.environment[self.variable], !url.isEmpty else {
                throw Missing(variable: self.variable)
            }
            return url
        }

        /// A namespace of the server's shared store that no other test uses.
        func freshNamespace() throws -> RedisStore {
            guard let store = Self.stores[self] else { throw Missing(variable: self.variable) }
            return try store.get().withNamespace("test-" + UUID().uuidString.prefix(8).lowercased())
        }
    }

    /// Runs redis-cli against the server and returns what it printed, trimmed.
    @discardableResult
    static func cli(_ arguments: [String], port: Int? = nil) async throws -> String {
        let port = try port ?? self.port()
        let output = try await Self.redisCLI(["-h", "127.0.0.1", "-p", String(port), "--raw"] + arguments)
        return output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Runs redis-cli with the given arguments and returns what it printed.
    static func redisCLI(_ arguments: [String]) async throws -> String {
        try await ChildProcess.run(["redis-cli"] + arguments).output
    }
}

/// A redis-server of a test's own, on its own port, that the test stops and starts again (fault tests).
final class RedisServerProcess: Sendable {
    private struct State {
        /// The port; one chosen here may change on the first start, if it was taken.
        var port: Int
        var process: ChildProcess?
        /// Whether the port was chosen here (not given), and no start has succeeded yet.
        var mayMove: Bool
    }

    private let state: Locked<State>
    private let directory: String
    private let binary: String
    private let clusterArguments: [String]

    /// - Parameters:
    ///   - port: The port; by default a random free one from 20000 to 32000 (below Linux's ephemeral range, where an
    ///     outgoing connection may hold one), another one if the first start finds it taken.
    ///   - clusterNode: Whether the server is a Redis Cluster node (`cluster-node-timeout` 1000 ms); its bus port is
    ///     the port + 10000.
    init(port: Int? = nil, clusterNode: Bool = false) throws {
        guard let binary = ProcessInfo.processInfo.environment["STASH_REDIS_SERVER"], !binary.isEmpty else {
            throw RedisTestServer.Missing(variable: "STASH_REDIS_SERVER")
        }
        self.binary = binary
        self.directory = FileManager.default.temporaryDirectory.appendingPathComponent("stash-redis-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: self.directory, withIntermediateDirectories: true)
        self.state = Locked(State(port: port ?? Self.randomPort(), process: nil, mayMove: port == nil))
        self.clusterArguments =
            clusterNode
            ? ["--cluster-enabled", "yes", "--cluster-config-file", self.directory + "/nodes.conf", "--cluster-node-timeout", "1000"] : []
    }

    /// The port the server listens on (or will).
    var port: Int { self.state.withLock { $0.port } }

    var url: String { "redis://127.0.0.1:\(self.port)/0" }

    /// The running server, if any.
    private var process: ChildProcess? { self.state.withLock { $0.process } }

    /// Starts the server and waits until it answers.
    func start() async throws {
        for _ in 0..<5 {
            let process = try self.launch(debugCommand: true)
            if try await self.waitUntilAnswering() {
                self.state.withLock { $0.mayMove = false }
                return
            }
            // It exited: something else holds the port. A port of our choosing moves before the first start only (a
            // restart must come back where the store was pointed).
            let moved = self.state.withLock { state in
                guard state.mayMove, !process.isRunning else { return false }
                state.port = Self.randomPort()
                return true
            }
            guard moved else { break }
        }
        Issue.record("redis-server on port \(self.port) did not start")
    }

    private static func randomPort() -> Int { Int.random(in: 20_000...32_000) }

    /// Starts the server, and reports whether it answers (it exits at once when a port of its is taken).
    func startIfPossible() async throws -> Bool {
        try self.launch(debugCommand: false)
        return try await self.waitUntilAnswering()
    }

    /// Spawns redis-server on the current port and keeps it as the running server.
    @discardableResult
    private func launch(debugCommand: Bool) throws -> ChildProcess {
        let port = self.port
        let process = try ChildProcess(
            [self.binary, "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", self.directory]
                + (debugCommand ? ["--enable-debug-command", "yes"] : []) + self.clusterArguments
        )
        self.state.withLock { $0.process = process }
        return process
    }

    /// Waits (30 s at most) until the server answers `PING`; `false` when it exited or never answered.
    private func waitUntilAnswering() async throws -> Bool {
        try await ChildProcess.poll(timeout: .seconds(30), every: .milliseconds(20)) {
            if (try? await RedisTestServer.cli(["ping"], port: self.port)) == "PONG" { return .value(true) }
            return self.process?.isRunning == true ? .wait : .stop
        } ?? false
    }

    /// Freezes the server (SIGSTOP): its connections stay open and nothing answers, at once and for certain.
    func pause() {
        guard let process = self.process, process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGSTOP)
    }

    /// Lets a paused server go on (SIGCONT); what it was sent meanwhile is answered then.
    func resume() {
        guard let process = self.process, process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGCONT)
    }

    /// Kills the server at once (SIGKILL), as a crash would.
    func kill() {
        let process = self.state.withLock { state in
            defer { state.process = nil }
            return state.process
        }
        process?.forceStop()
    }

    deinit {
        self.kill()
        try? FileManager.default.removeItem(atPath: self.directory)
    }
}
