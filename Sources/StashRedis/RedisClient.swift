import NIOCore
import NIOPosix
import Stash

/// What every namespace of a ``RedisStore`` shares: the configuration and the connections — one pool to one server,
/// or a router over a cluster's primaries — and the commands the store is built from, with error replies turned into
/// ``/Stash/StoreError``s.
final class RedisClient: Sendable {
    let configuration: RedisConfiguration
    private let transport: Transport
    /// The owner of the service (the pool or the router) the store and its namespaces share.
    let serviceOwner: StoreService.Owner
    /// The values kept in memory when the configuration asks for a near cache, shared by every namespace.
    let nearCache: RedisNearCacheTier?

    /// Where commands go.
    private enum Transport: Sendable {
        case server(RedisConnectionPool)
        case cluster(RedisClusterRouter)
    }

    /// - Throws: ``/Stash/StoreError/Code/invalidConfiguration`` when the TLS configuration is refused.
    init(configuration: RedisConfiguration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) throws {
        self.configuration = configuration
        let tls = try configuration.tls?.makeContext()
        let nearCache = configuration.nearCache.map { RedisNearCacheTier(configuration: $0, clustered: configuration.cluster != nil) }
        self.nearCache = nearCache
        if let seeds = configuration.cluster {
            let nodes = seeds.map { RedisClusterTopology.Node(host: $0.host, port: $0.port) }
            self.transport = .cluster(
                RedisClusterRouter(configuration: configuration, seeds: nodes, tls: tls, group: group, nearCache: nearCache)
            )
        } else {
            self.transport = .server(RedisConnectionPool(configuration: configuration, tls: tls, group: group, nearCache: nearCache))
        }
        self.serviceOwner = StoreService.Owner("the RedisStore of \(configuration.address)")
    }

    /// Whether the store speaks to a cluster.
    var isCluster: Bool {
        if case .cluster = self.transport { return true }
        return false
    }

    /// Runs the pool (or every pool of the cluster's router) until graceful shutdown.
    func run() async throws {
        switch self.transport {
        case .server(let pool): try await pool.run()
        case .cluster(let router): try await router.run()
        }
    }

    /// Sends a command whose key (on a cluster) is its second argument, as for `GET key`; an error reply throws
    /// ``/Stash/StoreError/Code/serverError`` with the server's message.
    func send(_ arguments: [RESPArgument]) async throws -> RESPValue {
        try Self.checked(try await self.sendRaw(arguments, key: arguments.count > 1 ? arguments[1] : nil), for: arguments)
    }

    /// A reply, or ``/Stash/StoreError/Code/serverError`` with the server's message when it is an error reply.
    private static func checked(_ reply: RESPValue, for arguments: [RESPArgument]) throws -> RESPValue {
        if let message = reply.errorMessage {
            throw StoreError(.serverError, "Redis answered \(Self.name(of: arguments)) with an error: \(message)")
        }
        return reply
    }

    /// Sends a command routed by `key` on a cluster; the reply as it is, error replies included.
    private func sendRaw(_ arguments: [RESPArgument], key: RESPArgument?) async throws -> RESPValue {
        switch self.transport {
        case .server(let pool):
            return try await pool.send(arguments)
        case .cluster(let router):
            guard case .string(let key) = key else {
                throw StoreError(.invalidConfiguration, "\(Self.name(of: arguments)) names no key to route it by in a Redis Cluster")
            }
            return try await router.send(arguments, slot: RedisKeySlot.slot(of: key))
        }
    }

    /// Runs a script by `EVALSHA`; on `NOSCRIPT` (a restarted or flushed server, or a cluster node that has not seen
    /// it) by `EVAL`, which loads it again. On a cluster it runs on the node of its first key: every script names
    /// exactly one.
    /// - Returns: The reply; an error reply is returned as a value, for the caller to interpret.
    func evaluate(_ script: RedisScript, keys: [RESPArgument], arguments: [RESPArgument]) async throws -> RESPValue {
        let tail = [.integer(Int64(keys.count))] + keys + arguments
        let reply = try await self.sendRaw(["EVALSHA", .string(script.sha1)] + tail, key: keys.first)
        if let message = reply.errorMessage, message.hasPrefix("NOSCRIPT") {
            return try await self.sendRaw(["EVAL", .string(script.source)] + tail, key: keys.first)
        }
        return reply
    }

    /// The nodes a whole-keyspace command (`SCAN`) must visit: the server, or every primary of the cluster.
    func scanTargets() async throws -> [RedisClusterTopology.Node?] {
        switch self.transport {
        case .server: return [nil]
        case .cluster(let router): return try await router.primaries()
        }
    }

    /// Sends a command to one of ``scanTargets()``; an error reply throws as ``send(_:)`` does.
    func send(_ arguments: [RESPArgument], to node: RedisClusterTopology.Node?) async throws -> RESPValue {
        let reply: RESPValue
        switch (self.transport, node) {
        case (.cluster(let router), .some(let node)): reply = try await router.send(arguments, to: node)
        case (.server(let pool), _): reply = try await pool.send(arguments)
        case (.cluster, .none): throw StoreError(.invalidConfiguration, "\(Self.name(of: arguments)) needs a node of the Redis Cluster")
        }
        return try Self.checked(reply, for: arguments)
    }

    /// Removes keys: one `UNLINK` on a server; on a cluster, one per slot (a command's keys must share one).
    func unlink(_ keys: [String]) async throws {
        guard !keys.isEmpty else { return }
        guard self.isCluster else {
            _ = try await self.send(["UNLINK"] + keys.map { .string($0) })
            return
        }
        let bySlot = Dictionary(grouping: keys, by: { RedisKeySlot.slot(of: $0) })
        try await withThrowingTaskGroup(of: Void.self) { group in
            for keys in bySlot.values {
                group.addTask { _ = try await self.send(["UNLINK"] + keys.map { .string($0) }) }
            }
            try await group.waitForAll()
        }
    }

    private static func name(of arguments: [RESPArgument]) -> String {
        if case .string(let name) = arguments.first { return name }
        return "a command"
    }
}
