import NIOCore

/// Which primary serves each hash slot of a Redis Cluster, read from `CLUSTER SHARDS` (Redis 7+) or `CLUSTER SLOTS`.
struct RedisClusterTopology: Sendable, Equatable {
    /// A node's address as clients reach it.
    struct Node: Hashable, Sendable, CustomStringConvertible {
        var host: String
        var port: Int

        var description: String { self.host.contains(":") ? "[\(self.host)]:\(self.port)" : "\(self.host):\(self.port)" }
    }

    /// The primaries, each once.
    private(set) var primaries: [Node]
    /// For each slot, the index in ``primaries`` of the node that serves it, or -1 when none does.
    private var owners: [Int16]

    /// A topology in which no slot is served.
    init() {
        self.primaries = []
        self.owners = Array(repeating: -1, count: RedisKeySlot.count)
    }

    /// The primary serving a slot, if any.
    func primary(forSlot slot: Int) -> Node? {
        let owner = self.owners[slot]
        return owner < 0 ? nil : self.primaries[Int(owner)]
    }

    /// Whether every slot is served.
    var coversEverySlot: Bool {
        !self.owners.contains(-1)
    }

    /// Serves the slots `range` by `node`.
    mutating func assign(_ range: ClosedRange<Int>, to node: Node) {
        let index: Int
        if let existing = self.primaries.firstIndex(of: node) {
            index = existing
        } else {
            index = self.primaries.count
            self.primaries.append(node)
        }
        for slot in range where (0..<RedisKeySlot.count).contains(slot) {
            self.owners[slot] = Int16(index)
        }
    }

    /// For each slot, whether `node` serves it.
    func slots(servedBy node: Node) -> [Bool] {
        guard let index = self.primaries.firstIndex(of: node) else { return Array(repeating: false, count: RedisKeySlot.count) }
        return self.owners.map { $0 == Int16(index) }
    }

    /// For each slot, whether it moved from the node that served it in `earlier` (to another node, or to none). A
    /// slot nobody served before is not counted: nothing was read from it.
    func slotsMoved(since earlier: RedisClusterTopology) -> [Bool] {
        (0..<RedisKeySlot.count).map { slot in
            guard let before = earlier.primary(forSlot: slot) else { return false }
            return self.primary(forSlot: slot) != before
        }
    }

    /// Moves one slot to another node (after a `MOVED`), until the next refresh.
    mutating func move(slot: Int, to node: Node) {
        guard (0..<RedisKeySlot.count).contains(slot) else { return }
        self.assign(slot...slot, to: node)
        self.dropUnusedPrimaries()
    }

    private mutating func dropUnusedPrimaries() {
        let used = Set(self.owners)
        guard used.count - (used.contains(-1) ? 1 : 0) < self.primaries.count else { return }
        let kept = self.primaries.indices.filter { used.contains(Int16($0)) }
        var renumbered = [Int16](repeating: -1, count: self.primaries.count)
        for (new, old) in kept.enumerated() { renumbered[old] = Int16(new) }
        self.primaries = kept.map { self.primaries[$0] }
        self.owners = self.owners.map { $0 < 0 ? -1 : renumbered[Int($0)] }
    }

    /// Reads a `CLUSTER SHARDS` reply: a list of shards, each a map (RESP3) or key-value list (RESP2) with `slots`
    /// (start, end, start, end, …) and `nodes` (maps with `ip`, `endpoint`, `port` or `tls-port`, `role`, `health`).
    /// - Parameters:
    ///   - asked: The node the reply came from: an endpoint of `?` or empty stands for its host.
    ///   - tls: Whether the store connects with TLS: then a node's `tls-port` is the one to use.
    /// - Returns: The topology, or `nil` when the reply is not such a list.
    static func fromShards(_ reply: RESPValue, asked: Node, tls: Bool) -> RedisClusterTopology? {
        guard case .array(let shards) = reply else { return nil }
        var topology = RedisClusterTopology()
        for shard in shards {
            guard let fields = Self.fields(shard), let slots = fields["slots"].flatMap(Self.elements),
                let nodes = fields["nodes"].flatMap(Self.elements)
            else { return nil }
            // The shard's primary: a master that is online; after a failover the old one is listed too, as failed.
            var primary: Node?
            for node in nodes {
                guard let node = Self.fields(node) else { return nil }
                let health = node["health"].flatMap(Self.text) ?? "online"
                guard node["role"].flatMap(Self.text) == "master", !health.hasPrefix("fail") else { continue }
                let port = (tls ? node["tls-port"] : nil).flatMap(Self.integer) ?? node["port"].flatMap(Self.integer)
                let endpoint = node["endpoint"].flatMap(Self.text) ?? node["ip"].flatMap(Self.text)
                guard let port, let host = Self.host(endpoint, asked: asked) else { continue }
                if primary == nil || health == "online" { primary = Node(host: host, port: port) }
            }
            guard let primary else { continue }
            var index = 0
            while index + 1 < slots.count {
                guard let start = Self.integer(slots[index]), let end = Self.integer(slots[index + 1]), start <= end else { return nil }
                topology.assign(start...end, to: primary)
                index += 2
            }
        }
        return topology
    }

    /// Reads a `CLUSTER SLOTS` reply: a list of `[start, end, [host, port, id, …], replicas…]`.
    /// - Returns: The topology, or `nil` when the reply is not such a list.
    static func fromSlots(_ reply: RESPValue, asked: Node) -> RedisClusterTopology? {
        guard case .array(let ranges) = reply else { return nil }
        var topology = RedisClusterTopology()
        for range in ranges {
            guard case .array(let parts) = range, parts.count >= 3, let start = Self.integer(parts[0]), let end = Self.integer(parts[1]),
                start <= end, case .array(let primary) = parts[2], primary.count >= 2, let port = Self.integer(primary[1]),
                let host = Self.host(Self.text(primary[0]), asked: asked)
            else { return nil }
            topology.assign(start...end, to: Node(host: host, port: port))
        }
        return topology
    }

    /// A node's host: its endpoint, or the asked node's host when the endpoint is unknown (`?`) or empty.
    private static func host(_ endpoint: String?, asked: Node) -> String? {
        guard let endpoint else { return nil }
        return endpoint.isEmpty || endpoint == "?" ? asked.host : endpoint
    }

    /// The entries of a map, or of a RESP2 list of alternating keys and values, by key.
    private static func fields(_ value: RESPValue) -> [String: RESPValue]? {
        let flat: [RESPValue]
        switch value {
        case .map(let elements), .array(let elements): flat = elements
        default: return nil
        }
        guard flat.count % 2 == 0 else { return nil }
        var fields: [String: RESPValue] = [:]
        for index in stride(from: 0, to: flat.count, by: 2) {
            guard let key = Self.text(flat[index]) else { return nil }
            fields[key] = flat[index + 1]
        }
        return fields
    }

    private static func elements(_ value: RESPValue) -> [RESPValue]? {
        switch value {
        case .array(let elements), .set(let elements): elements
        default: nil
        }
    }

    private static func text(_ value: RESPValue) -> String? {
        value.stringBytes.map { String(buffer: $0) }
    }

    private static func integer(_ value: RESPValue) -> Int? {
        switch value {
        case .integer(let number): Int(exactly: number)
        default: Self.text(value).flatMap { Int($0) }
        }
    }
}
