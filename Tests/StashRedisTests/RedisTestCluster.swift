import Foundation
import Testing

/// A Redis Cluster of a test's own — three primaries with a replica each, `cluster-node-timeout` 1000 ms — for tests
/// that kill nodes or move slots, which the shared cluster of `scripts/test.sh` must not see.
final class RedisTestCluster: Sendable {
    let servers: [RedisServerProcess]

    private init(servers: [RedisServerProcess]) {
        self.servers = servers
    }

    var ports: [Int] { self.servers.map(\.port) }

    /// Two seeds, as an application would name the cluster.
    var url: String { "redis+cluster://127.0.0.1:\(self.ports[0]),127.0.0.1:\(self.ports[1])/" }

    /// Starts six nodes on consecutive free ports from 11000 to 21995 (bus ports 10000 above), joins them, and waits
    /// until every node sees every slot served.
    static func start() async throws -> RedisTestCluster {
        var servers: [RedisServerProcess] = []
        // Ports whose bus ports (10000 above) stay below Linux's ephemeral range (32768 up), where an outgoing
        // connection could hold one; a base whose ports are taken is given up for another.
        for _ in 0..<5 where servers.isEmpty {
            let base = Int.random(in: 1_100...2_199) * 10
            let candidates = try (0..<6).map { try RedisServerProcess(port: base + $0, clusterNode: true) }
            var started = true
            for server in candidates where started {
                started = try await server.startIfPossible()
            }
            if started {
                servers = candidates
            } else {
                for server in candidates { server.kill() }
            }
        }
        try #require(servers.count == 6, "six cluster nodes could not be started on free ports")
        let cluster = RedisTestCluster(servers: servers)
        let nodes = servers.map { "127.0.0.1:\($0.port)" }
        let created = try await Self.cliWithoutServer(["--cluster", "create"] + nodes + ["--cluster-replicas", "1", "--cluster-yes"])
        try #require(created.contains("[OK] All 16384 slots covered"), "redis-cli --cluster create: \(created)")
        try await cluster.waitUntilHealthy()
        // A replica that has not finished its first sync cannot be promoted: wait for every link.
        let deadline = ContinuousClock.now + .seconds(30)
        for port in cluster.ports where try await RedisTestServer.cli(["ROLE"], port: port).hasPrefix("slave") {
            while try await !RedisTestServer.cli(["INFO", "replication"], port: port).contains("master_link_status:up") {
                try #require(ContinuousClock.now < deadline, "the replica on \(port) did not sync")
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        return cluster
    }

    /// Waits (30 s at most) until three of the running nodes are primaries: after a primary is killed, until its
    /// replica is promoted.
    func waitForThreePrimaries(excluding excluded: Set<Int>) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while try await self.primaryPorts(among: self.ports.filter { !excluded.contains($0) }).count < 3 {
            try #require(ContinuousClock.now < deadline, "no replica was promoted")
            try await Task.sleep(for: .milliseconds(50))
        }
        try await self.waitUntilHealthy(excluding: excluded)
    }

    /// Waits (30 s at most) until every running node says `cluster_state:ok`.
    func waitUntilHealthy(excluding excluded: Set<Int> = []) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        for port in self.ports where !excluded.contains(port) {
            while try await !RedisTestServer.cli(["CLUSTER", "INFO"], port: port).contains("cluster_state:ok") {
                try #require(ContinuousClock.now < deadline, "the cluster on \(self.ports) is not healthy")
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    /// The ports of the nodes that are primaries now, among those given.
    func primaryPorts(among ports: [Int]? = nil) async throws -> [Int] {
        var primaries: [Int] = []
        for port in ports ?? self.ports where try await RedisTestServer.cli(["ROLE"], port: port).hasPrefix("master") {
            primaries.append(port)
        }
        return primaries
    }

    func server(port: Int) -> RedisServerProcess? {
        self.servers.first { $0.port == port }
    }

    /// Runs redis-cli with arguments that name their nodes themselves (`--cluster …`).
    static func cliWithoutServer(_ arguments: [String]) async throws -> String {
        try await RedisTestServer.redisCLI(arguments)
    }

    func stop() {
        for server in self.servers { server.kill() }
    }
}
