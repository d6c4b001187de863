import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle
import Stash

/// Sends each command to the primary that serves its key's slot in a Redis Cluster, with one pipelined
/// ``RedisConnectionPool`` per primary (the configuration's connections shared out among them), and follows the
/// cluster's redirections.
///
/// The topology is read from any reachable node (`CLUSTER SHARDS`, or `CLUSTER SLOTS` where a server lacks it): when
/// the first command needs it, after a `MOVED`, and when a node cannot be reached (a replica may have been promoted).
/// `MOVED` sends the command to the new node at once; `ASK` sends `ASKING` and the command to the target once;
/// `TRYAGAIN` and `CLUSTERDOWN` send it again after a pause that doubles. A command that was never sent (its node is
/// unreachable, or no topology is known yet) waits for the next topology and is sent then. Every command is sent at
/// most ``RedisClusterStateMachine/maximumAttempts`` times, and gives up when its timeout is over; a command that was
/// sent and lost its connection fails with ``/Stash/StoreError/Code/unavailable``, never sent twice. Decisions are
/// ``RedisClusterStateMachine``'s, under the router's lock; I/O happens outside it.
final class RedisClusterRouter: Sendable {
    let configuration: RedisConfiguration
    private let seeds: [RedisClusterTopology.Node]
    private let tls: NIOSSLContext?
    private let group: any EventLoopGroup

    private struct State: Sendable {
        var machine = RedisClusterStateMachine()
        var pools: [RedisClusterTopology.Node: RedisConnectionPool] = [:]
        var isShutDown = false
        /// Commands waiting for the running topology read.
        var refreshWaiters: [CheckedContinuation<Void, Never>] = []
        /// Why the last topology read found no node, when every node refused the store itself (TLS, credentials):
        /// commands that find no primary fail with it at once, as waiting would not change it.
        var refusal: StoreError?
    }

    private let state = Locked(State())

    /// The store's near cache: every node's connections carry its invalidations; a slot that moved drops what the
    /// cache read from the node that served it.
    private let nearCache: RedisNearCacheTier?

    init(
        configuration: RedisConfiguration,
        seeds: [RedisClusterTopology.Node],
        tls: NIOSSLContext?,
        group: any EventLoopGroup,
        nearCache: RedisNearCacheTier? = nil
    ) {
        self.nearCache = nearCache
        self.configuration = configuration
        self.seeds = seeds
        self.tls = tls
        self.group = group
    }

    private var commandTimeout: TimeAmount {
        .nanoseconds(self.configuration.commandTimeout.nanosecondsClamped)
    }

    /// The pool of a node, made when first needed (no I/O: it connects on its first command).
    private func pool(for node: RedisClusterTopology.Node) throws -> RedisConnectionPool {
        try self.state.withLock { state in
            guard !state.isShutDown else { throw StoreError(.unavailable, "the Redis Cluster store has shut down") }
            if let pool = state.pools[node] { return pool }
            var configuration = self.configuration
            configuration.host = node.host
            configuration.port = node.port
            configuration.cluster = nil
            let pool = RedisConnectionPool(configuration: configuration, tls: self.tls, group: self.group, nearCache: self.nearCache)
            pool.limit(to: self.share(of: state.machine.topology))
            state.pools[node] = pool
            return pool
        }
    }

    /// How many connections each node's pool may use: the configuration's maximum shared out among the primaries
    /// (among the seeds before the first topology), at least one. Fewer connections carry larger pipelined batches.
    private func share(of topology: RedisClusterTopology) -> Int {
        let nodes = topology.primaries.isEmpty ? self.seeds.count : topology.primaries.count
        return max(1, self.configuration.maximumConnections / max(nodes, 1))
    }

    /// Sends a command to the primary of `slot`, following redirections.
    func send(_ arguments: [RESPArgument], slot: Int) async throws -> RESPValue {
        let deadline = NIODeadline.now() + self.commandTimeout
        var target: (node: RedisClusterTopology.Node, asking: Bool)?
        // Times the command was sent, and times it waited for a node (not sends: they bound nothing but time).
        var sends = 0
        var waits = 0
        var lastError: (any Error)?
        while true {
            let now = NIODeadline.now()
            let next = target ?? self.state.withLock { state in state.machine.primary(forSlot: slot).map { ($0, false) } }
            target = nil
            guard let (node, asking) = next else {
                // No primary known for the slot yet: wait for the topology read (the running one, or one started
                // now). Its own timeouts bound it; the command's timeout counts only once a read ended without one.
                let reading = self.state.withLock { state in
                    if state.machine.requestRefresh(now: now) { return (start: true, running: true) }
                    return (start: false, running: state.machine.isRefreshing)
                }
                if reading.start { self.startRefresh() }
                if reading.running {
                    await self.awaitRefresh()
                    if let refusal = self.state.withLock({ $0.refusal }) { throw refusal }
                    continue
                }
                let (action, refresh) = self.state.withLock { $0.machine.unreachable(waits: waits, now: now, deadline: deadline) }
                waits += 1
                if refresh { self.startRefresh() }
                try await self.perform(action, command: arguments, target: &target, underlying: lastError)
                continue
            }
            if self.state.withLock({ $0.machine.dueRefresh(now: now) }) { self.startRefresh() }
            let reply: RESPValue
            do {
                let pool = try self.pool(for: node)
                reply = asking ? try await pool.sendAsking(arguments) : try await pool.send(arguments)
            } catch let error as StoreError where Self.wasNotSent(error) {
                lastError = error
                let (action, refresh) = self.state.withLock {
                    $0.machine.unreachable(waits: waits, now: NIODeadline.now(), deadline: deadline)
                }
                waits += 1
                if refresh { self.startRefresh() }
                try await self.perform(action, command: arguments, target: &target, underlying: error)
                continue
            }
            sends += 1
            let redirect = RedisClusterRedirect(reply, asked: node)
            // A slot moved: the node that served it no longer tells of its keys' changes, and its other slots may
            // have moved with it (a failover), so the near cache drops what it read from there.
            if case .moved(let slot, _) = redirect, let nearCache = self.nearCache {
                var slots = self.state.withLock { $0.machine.topology.slots(servedBy: node) }
                if (0..<RedisKeySlot.count).contains(slot) { slots[slot] = true }
                nearCache.invalidate(slots: slots)
            }
            let (action, refresh) = self.state.withLock {
                $0.machine.replied(redirect, attempt: sends, now: NIODeadline.now(), deadline: deadline)
            }
            if refresh { self.startRefresh() }
            if case .deliver = action { return reply }
            try await self.perform(action, command: arguments, target: &target, underlying: nil)
        }
    }

    /// Performs a retry decision: sets where to send next, waits, or throws.
    private func perform(
        _ action: RedisClusterStateMachine.ReplyAction,
        command: [RESPArgument],
        target: inout (node: RedisClusterTopology.Node, asking: Bool)?,
        underlying: (any Error)?
    ) async throws {
        switch action {
        case .deliver:
            return
        case .retry(let node, let asking):
            target = (node, asking)
        case .retryAfter(let pause):
            try await Task.sleep(nanoseconds: UInt64(max(pause.nanoseconds, 0)))
        case .fail(let reason):
            let cause = underlying.map { " (last: \($0))" } ?? ""
            throw StoreError(.unavailable, "Redis Cluster: \(Self.name(of: command)) \(reason)\(cause)", underlying: underlying)
        }
    }

    /// Whether a command failed before it left (its node unreachable): then it may be sent elsewhere.
    static func wasNotSent(_ error: StoreError) -> Bool {
        error.code == .unavailable
            && (error.message.hasPrefix("cannot connect") || error.message.hasSuffix("is unreachable; reconnecting")
                || error.message == RedisConnection.notSentMessage)
    }

    /// Sends a command to one node, without redirections (`SCAN` lists one node's keys).
    func send(_ arguments: [RESPArgument], to node: RedisClusterTopology.Node) async throws -> RESPValue {
        try await self.pool(for: node).send(arguments)
    }

    /// The primaries, reading the topology first when none is known yet.
    func primaries() async throws -> [RedisClusterTopology.Node] {
        let known = self.state.withLock { $0.machine.topology.primaries }
        if !known.isEmpty { return known }
        let deadline = NIODeadline.now() + self.commandTimeout
        while true {
            if self.state.withLock({ $0.machine.requestRefresh(now: NIODeadline.now()) }) { self.startRefresh() }
            await self.awaitRefresh()
            let primaries = self.state.withLock { $0.machine.topology.primaries }
            if !primaries.isEmpty { return primaries }
            if let refusal = self.state.withLock({ $0.refusal }) { throw refusal }
            if NIODeadline.now() >= deadline { break }
            try await Task.sleep(nanoseconds: UInt64(RedisClusterStateMachine.refreshInterval.nanoseconds))
        }
        throw StoreError(.unavailable, "no node of the Redis Cluster (\(self.seeds.map(\.description).joined(separator: ", "))) answered")
    }

    /// Starts a topology read in a task of its own (it is short: one command to the first node that answers).
    private func startRefresh() {
        Task { await self.refresh() }
    }

    /// Reads the topology from the known primaries and the seeds, all at once, keeping the first full answer; the
    /// state machine was told a read runs. Then resumes the commands that waited for it.
    private func refresh() async {
        let known = self.state.withLock { $0.machine.topology.primaries }
        let candidates = known + self.seeds.filter { !known.contains($0) }
        let (topology, refusal) = await withTaskGroup(
            of: Result<RedisClusterTopology?, StoreError>.self,
            returning: (RedisClusterTopology?, StoreError?).self
        ) { group in
            for node in candidates {
                group.addTask {
                    do {
                        guard let read = try await self.readTopology(from: node), !read.primaries.isEmpty else { return .success(nil) }
                        return .success(read)
                    } catch let error as StoreError {
                        return .failure(error)
                    } catch {
                        return .success(nil)
                    }
                }
            }
            var best: RedisClusterTopology?
            // Set while every node that answered refused the store itself.
            var refusal: StoreError?
            var others = false
            for await read in group {
                switch read {
                case .success(let read?):
                    if read.coversEverySlot {
                        group.cancelAll()
                        return (read, nil)
                    }
                    if best == nil { best = read }
                case .failure(let error) where [.tlsFailed, .authenticationFailed].contains(error.code):
                    refusal = refusal ?? error
                case .success(nil), .failure:
                    others = true
                }
            }
            return (best, best == nil && !others ? refusal : nil)
        }
        let (retired, kept, share, waiters, moved) = self.state.withLock { state in
            let before = state.machine.topology
            state.machine.refreshEnded(topology, now: NIODeadline.now())
            // The slots another node serves now: the near cache's copies of their keys are no longer kept coherent.
            let moved = self.nearCache != nil ? topology?.slotsMoved(since: before) : nil
            state.refusal = refusal
            let waiters = state.refreshWaiters
            state.refreshWaiters = []
            guard let topology else { return ([RedisConnectionPool](), [RedisConnectionPool](), 0, waiters, moved) }
            // Pools of nodes that serve no slot any more (a failed primary, a removed node) are closed.
            let gone = state.pools.keys.filter { !topology.primaries.contains($0) && !self.seeds.contains($0) }
            let retired = gone.compactMap { state.pools.removeValue(forKey: $0) }
            return (retired, Array(state.pools.values), self.share(of: topology), waiters, moved)
        }
        if let moved, moved.contains(true) { self.nearCache?.invalidate(slots: moved) }
        // The others get their share of the connections for the primaries there are now.
        for pool in kept { pool.limit(to: share) }
        for waiter in waiters { waiter.resume() }
        for pool in retired { await pool.shutDown() }
    }

    /// Waits until the running topology read ends (at once when none runs).
    private func awaitRefresh() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = self.state.withLock { state -> Bool in
                guard state.machine.isRefreshing else { return true }
                state.refreshWaiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// Reads the topology from one node: `CLUSTER SHARDS`, or `CLUSTER SLOTS` when the server does not know it.
    private func readTopology(from node: RedisClusterTopology.Node) async throws -> RedisClusterTopology? {
        let pool = try self.pool(for: node)
        let shards = try await pool.send(["CLUSTER", "SHARDS"])
        if shards.errorMessage == nil {
            return RedisClusterTopology.fromShards(shards, asked: node, tls: self.tls != nil)
        }
        return RedisClusterTopology.fromSlots(try await pool.send(["CLUSTER", "SLOTS"]), asked: node)
    }

    /// Waits for graceful shutdown, then closes every node's pool once its commands are answered.
    func run() async throws {
        _ = try? await self.primaries()
        try? await gracefulShutdown()
        await self.shutDown()
    }

    /// Refuses new commands and closes every pool.
    func shutDown() async {
        let pools = self.state.withLock { state in
            state.isShutDown = true
            return Array(state.pools.values)
        }
        for pool in pools { await pool.shutDown() }
    }

    private static func name(of arguments: [RESPArgument]) -> String {
        if case .string(let name) = arguments.first { return name }
        return "a command"
    }
}
