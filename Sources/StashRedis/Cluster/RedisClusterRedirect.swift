import NIOCore

/// What a Redis Cluster error reply asks of the client: to go to another node for good (`MOVED`), once (`ASK`), or
/// to try again shortly (`TRYAGAIN` during a slot migration, `CLUSTERDOWN` while the cluster heals).
enum RedisClusterRedirect: Equatable, Sendable {
    /// `MOVED <slot> <host>:<port>`: the slot is served by that node now.
    case moved(slot: Int, to: RedisClusterTopology.Node)
    /// `ASK <slot> <host>:<port>`: this command only, on that node, after `ASKING`.
    case ask(slot: Int, to: RedisClusterTopology.Node)
    /// `TRYAGAIN` or `CLUSTERDOWN`: the same command, after a pause.
    case tryAgain

    /// The redirect an error reply asks for, `nil` for any other reply. `asked` stands in for a node whose host the
    /// reply leaves empty.
    init?(_ reply: RESPValue, asked: RedisClusterTopology.Node) {
        guard let message = reply.errorMessage else { return nil }
        if message.hasPrefix("TRYAGAIN") || message.hasPrefix("CLUSTERDOWN") {
            self = .tryAgain
            return
        }
        let parts = message.split(separator: " ")
        guard parts.count == 3, parts[0] == "MOVED" || parts[0] == "ASK", let slot = Int(parts[1]),
            (0..<RedisKeySlot.count).contains(slot), let colon = parts[2].lastIndex(of: ":"),
            let port = Int(parts[2][parts[2].index(after: colon)...]), (1...65535).contains(port)
        else { return nil }
        var host = String(parts[2][..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let node = RedisClusterTopology.Node(host: host.isEmpty ? asked.host : host, port: port)
        self = parts[0] == "MOVED" ? .moved(slot: slot, to: node) : .ask(slot: slot, to: node)
    }
}
