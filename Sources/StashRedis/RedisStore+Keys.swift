import NIOCore
public import Stash

extension RedisStore {
    /// How many keys one `SCAN` step asks for.
    static var scanCount: Int64 { 256 }

    /// Lists the keys of this namespace (not its children) with `SCAN … MATCH`, a page per step, each key once.
    ///
    /// The prefix is matched literally (glob characters in it are escaped). `SCAN` may return a key more than
    /// once; the listing remembers what it returned, so each key is listed once.
    public func keys(withPrefix prefix: String) -> StoreKeys {
        let pattern = Self.escapedForMatch(self.namespacePrefix + "|" + prefix) + "*"
        let strip = self.namespacePrefix.utf8.count + 1
        return StoreKeys {
            // On a cluster, each primary's keys in turn (not its replicas'), each with a cursor of its own.
            let targets = try await self.client.scanTargets()
            return try await self.keysPage(targets[...], cursor: "0", pattern: pattern, strip: strip, seen: [])
        }
    }

    private func keysPage(
        _ targets: ArraySlice<RedisClusterTopology.Node?>,
        cursor: String,
        pattern: String,
        strip: Int,
        seen: Set<[UInt8]>
    ) async throws -> StoreKeys.Page {
        guard let target = targets.first else { return StoreKeys.Page(keys: []) }
        let (next, keys) = try await self.scan(target, cursor: cursor, pattern: pattern)
        var seen = seen
        var page: [String] = []
        for key in keys {
            guard key.utf8.count > strip else { continue }
            // Remembered by bytes: Strings compare canonically, and "caf\u{E9}" and "cafe\u{301}" are two keys.
            let stripped = Array(key.utf8.dropFirst(strip))
            if seen.insert(stripped).inserted { page.append(String(decoding: stripped, as: UTF8.self)) }
        }
        let rest = next == "0" ? targets.dropFirst() : targets
        guard !rest.isEmpty else { return StoreKeys.Page(keys: page) }
        let remembered = seen
        return StoreKeys.Page(keys: page) {
            try await self.keysPage(rest, cursor: next, pattern: pattern, strip: strip, seen: remembered)
        }
    }

    /// Removes every key of this namespace and of its children: `SCAN` for the exact patterns (on a cluster, on
    /// every primary), `UNLINK` per page.
    public func deleteAll() async throws {
        // The near cache forgets this namespace and its children, before and after.
        self.client.nearCache?.invalidateNamespace(self.namespacePrefix)
        defer { self.client.nearCache?.invalidateNamespace(self.namespacePrefix) }
        let own = Self.escapedForMatch(self.namespacePrefix + "|") + "*"
        let children = Self.escapedForMatch(self.namespacePrefix + ":") + "*"
        for target in try await self.client.scanTargets() {
            for pattern in [own, children] {
                var cursor = "0"
                repeat {
                    let (next, keys) = try await self.scan(target, cursor: cursor, pattern: pattern)
                    try await self.client.unlink(keys)
                    cursor = next
                } while cursor != "0"
            }
        }
    }

    /// One `SCAN` step on one node: the next cursor and the keys found.
    private func scan(_ target: RedisClusterTopology.Node?, cursor: String, pattern: String) async throws -> (next: String, keys: [String]) {
        let command: [RESPArgument] = ["SCAN", .string(cursor), "MATCH", .string(pattern), "COUNT", .integer(Self.scanCount)]
        let reply = try await self.client.send(command, to: target)
        guard case .array(let parts) = reply, parts.count == 2, let next = parts[0].stringBytes, case .array(let found) = parts[1] else {
            throw StoreError(.protocolError, "Redis answered SCAN with \(reply)")
        }
        let keys = found.compactMap { value -> String? in
            guard let bytes = value.stringBytes else { return nil }
            return String(validating: bytes.readableBytesView, as: UTF8.self)
        }
        return (String(buffer: next), keys)
    }

    /// Escapes Redis glob characters (`*`, `?`, `[`, `]`, `\`) so that text matches only itself.
    static func escapedForMatch(_ text: String) -> String {
        // By scalar, not by Character: a combining mark after `*` makes one Character that is not `*`.
        var escaped = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if "*?[]\\".unicodeScalars.contains(scalar) { escaped.append("\\") }
            escaped.append(scalar)
        }
        return String(escaped)
    }
}
