import NIOCore

extension MemoryState {
    /// One live entry as a snapshot holds it.
    struct SnapshotEntry {
        /// The names of the namespaces from the snapshotted namespace down to the entry's (`[]` for its own).
        var namespace: [String]
        var key: String
        var value: ByteBuffer
        /// The time left before it expires, in nanoseconds (always positive), or `nil` when it never expires.
        var remaining: Ticks?
    }

    /// The live entries of a namespace and of its children, with the change count they reflect.
    func snapshot(of space: Int) -> (entries: [SnapshotEntry], changes: UInt64) {
        let now = self.now()
        var entries: [SnapshotEntry] = []
        var pending: [(space: Int, path: [String])] = [(space, [])]
        while let (index, path) = pending.popLast() {
            for (key, entry) in self.spaces[index].entries {
                var remaining: Ticks?
                if let expiresAt = entry.expiresAt {
                    guard expiresAt > now else { continue }
                    remaining = expiresAt - now
                }
                entries.append(SnapshotEntry(namespace: path, key: key.string, value: entry.value, remaining: remaining))
            }
            for (name, child) in self.spaces[index].children {
                pending.append((child, path + [name]))
            }
        }
        return (entries, self.changes)
    }

    /// Writes a snapshot's entries into a namespace, after removing everything the namespace and its children held
    /// when `replacing`; bounds apply as for any write.
    /// - Returns: The change count after the restore.
    mutating func restore(_ entries: [SnapshotEntry], into space: Int, replacing: Bool) -> UInt64 {
        if replacing { self.removeAll(space: space) }
        let now = self.now()
        var spaceOfPath: [[String]: Int] = [[]: space]
        for entry in entries {
            let target: Int
            if let known = spaceOfPath[entry.namespace] {
                target = known
            } else {
                target = entry.namespace.reduce(space) { parent, name in self.child(named: name, of: parent) }
                spaceOfPath[entry.namespace] = target
            }
            self.set(space: target, key: entry.key, value: entry.value, expiresAt: entry.remaining.map { now + $0 })
        }
        return self.changes
    }
}
