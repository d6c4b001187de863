public import NIOCore

/// Everything a tree of ``MemoryStore`` namespaces holds, kept behind one lock: a dictionary of entries per
/// namespace, the namespace tree, and (when bounds are set) the recency list that orders evictions.
///
/// Not generic over the store's clock on purpose: times are nanoseconds since the storage was created, read
/// through one closure, so the dictionary and its entries are concrete types that the compiler specialises
/// (a generic entry costs a hit several times over in witness-table calls).
@usableFromInline
struct MemoryState: ~Copyable {
    /// A time in nanoseconds since the storage was created.
    typealias Ticks = Int64

    struct Entry {
        var value: ByteBuffer
        var expiresAt: Ticks?
        /// Changes whenever the value is written or the key is removed and created again: what an optimistic
        /// ``MemoryStore/update(_:_:)`` compares.
        var version: UInt64
        /// The entry's node in the recency list, or -1 when the store is unbounded.
        var node: Int32
    }

    struct Space {
        /// The namespace's name in its parent (`""` for the root).
        let name: String
        let parent: Int
        var children: [String: Int] = [:]
        var entries: [MemoryKey: Entry] = [:]
    }

    /// An entry's value and version as read by the first half of an optimistic update.
    struct Snapshot {
        var value: ByteBuffer?
        var version: UInt64?
    }

    /// Reads the clock, in ticks.
    let now: @Sendable () -> Ticks
    /// The wall-clock time of tick 0, in nanoseconds since the Unix epoch (see ``wallNow``).
    let wallOrigin: Int64
    let maximumEntries: Int?
    let maximumBytes: Int?
    private let bounded: Bool
    private(set) var spaces: [Space] = [Space(name: "", parent: -1)]
    private var recency = RecencyList()
    private(set) var count = 0
    private(set) var bytes = 0
    private var lastVersion: UInt64 = 0
    /// Counts every change to the stored entries (writes, removals, renewals), so that a ``Persister`` learns that
    /// the store changed by reading one number, with no callback on the write path.
    private(set) var changes: UInt64 = 0

    init(now: @escaping @Sendable () -> Ticks, wallOrigin: Int64, maximumEntries: Int?, maximumBytes: Int?) {
        self.now = now
        self.wallOrigin = wallOrigin
        self.maximumEntries = maximumEntries
        self.maximumBytes = maximumBytes
        self.bounded = maximumEntries != nil || maximumBytes != nil
    }

    /// Now on the wall clock, in nanoseconds since the Unix epoch: tick 0's wall-clock time plus the ticks. What
    /// other processes must understand is timed on it — rate-limit state, a snapshot's expiry times — so that it
    /// means the same after a restart, with one clock read.
    var wallNow: Int64 {
        self.wallOrigin &+ self.now()
    }

    // MARK: Namespaces

    mutating func child(named name: String, of space: Int) -> Int {
        if let existing = self.spaces[space].children[name] { return existing }
        let index = self.spaces.count
        self.spaces.append(Space(name: name, parent: space))
        self.spaces[space].children[name] = index
        return index
    }

    /// The namespace and every namespace below it.
    func subtree(of space: Int) -> [Int] {
        var result = [space]
        var index = 0
        while index < result.count {
            result.append(contentsOf: self.spaces[result[index]].children.values)
            index += 1
        }
        return result
    }

    // MARK: Reads

    private func isExpired(_ entry: Entry) -> Bool {
        guard let expiresAt = entry.expiresAt else { return false }
        return self.now() >= expiresAt
    }

    /// The live entry for a key; an expired one is removed on the way.
    mutating func live(space: Int, key: String) -> Entry? {
        guard let entry = self.spaces[space].entries[MemoryKey(key)] else { return nil }
        if self.isExpired(entry) {
            self.remove(space: space, key: key)
            return nil
        }
        return entry
    }

    @usableFromInline
    mutating func get(space: Int, key: String) -> ByteBuffer? {
        guard let entry = self.live(space: space, key: key) else { return nil }
        if self.bounded { self.recency.touch(entry.node) }
        return entry.value
    }

    @usableFromInline
    mutating func get(space: Int, key: String, renewingFor milliseconds: Int64) -> ByteBuffer? {
        guard let entry = self.live(space: space, key: key) else { return nil }
        if self.bounded { self.recency.touch(entry.node) }
        if entry.expiresAt != nil {
            self.spaces[space].entries[MemoryKey(key)]!.expiresAt = self.now() + milliseconds * 1_000_000
            self.changes &+= 1
        }
        return entry.value
    }

    mutating func expiry(space: Int, key: String) -> KeyExpiry {
        guard let entry = self.live(space: space, key: key) else { return .missing }
        guard let expiresAt = entry.expiresAt else { return .never }
        // The clock is read again here: time may have passed since `live` found the entry alive, so never report less
        // than the 1 ms the contract promises a live key.
        let remaining = Duration.nanoseconds(expiresAt - self.now()).roundedUpToMilliseconds
        return .expiresIn(.milliseconds(max(remaining, 1)))
    }

    mutating func exists(space: Int, key: String) -> Bool {
        self.live(space: space, key: key) != nil
    }

    mutating func keys(space: Int, prefix: String) -> [String] {
        let now = self.now()
        var keys: [String] = []
        var expired: [String] = []
        for (key, entry) in self.spaces[space].entries where key.string.utf8.starts(with: prefix.utf8) {
            if let expiresAt = entry.expiresAt, now >= expiresAt {
                expired.append(key.string)
            } else {
                keys.append(key.string)
            }
        }
        for key in expired { self.remove(space: space, key: key) }
        return keys
    }

    // MARK: Writes

    /// The expiry instant for a time to live in milliseconds.
    func deadline(afterMilliseconds milliseconds: Int64?) -> Ticks? {
        milliseconds.map { self.now() + $0 * 1_000_000 }
    }

    mutating func set(space: Int, key: String, value: ByteBuffer, expiresAt: Ticks?) {
        self.lastVersion &+= 1
        self.changes &+= 1
        let size = key.utf8.count + value.readableBytes
        if let old = self.spaces[space].entries[MemoryKey(key)] {
            self.bytes += size - (key.utf8.count + old.value.readableBytes)
            if self.bounded { self.recency.touch(old.node) }
            self.spaces[space].entries[MemoryKey(key)] = Entry(value: value, expiresAt: expiresAt, version: self.lastVersion, node: old.node)
        } else {
            let node = self.bounded ? self.recency.insert(space: space, key: key) : -1
            self.spaces[space].entries[MemoryKey(key)] = Entry(value: value, expiresAt: expiresAt, version: self.lastVersion, node: node)
            self.count += 1
            self.bytes += size
        }
        if self.bounded { self.evictBeyondBounds() }
    }

    /// The position of a key's live entry, found with one lookup; an expired one is removed on the way. The
    /// position is valid until the state next changes.
    mutating func liveIndex(space: Int, key: String) -> Dictionary<MemoryKey, Entry>.Index? {
        guard let index = self.spaces[space].entries.index(forKey: MemoryKey(key)) else { return nil }
        if self.isExpired(self.spaces[space].entries.values[index]) {
            self.remove(space: space, key: key)
            return nil
        }
        return index
    }

    /// Gives the entry at `index` (from ``liveIndex(space:key:)``, nothing changed since) a new value and expiry,
    /// as ``set(space:key:value:expiresAt:)`` would store them, without looking the key up again. `change` gets the
    /// stored value to replace or to write over: its bytes are reused unless a reader still holds them.
    mutating func rewrite(
        space: Int,
        at index: Dictionary<MemoryKey, Entry>.Index,
        expiresAt: Ticks?,
        with change: (inout ByteBuffer) -> Void
    ) {
        self.lastVersion &+= 1
        self.changes &+= 1
        // Each access below modifies the entry where it is: the dictionary's storage and the bytes stay unique.
        let before = self.spaces[space].entries.values[index].value.readableBytes
        change(&self.spaces[space].entries.values[index].value)
        self.spaces[space].entries.values[index].expiresAt = expiresAt
        self.spaces[space].entries.values[index].version = self.lastVersion
        self.bytes += self.spaces[space].entries.values[index].value.readableBytes - before
        if self.bounded {
            self.recency.touch(self.spaces[space].entries.values[index].node)
            self.evictBeyondBounds()
        }
    }

    /// Stores a value if the key is missing or expired; returns whether it did.
    mutating func insert(space: Int, key: String, value: ByteBuffer, expiresAt: Ticks?) -> Bool {
        guard self.live(space: space, key: key) == nil else { return false }
        self.set(space: space, key: key, value: value, expiresAt: expiresAt)
        return true
    }

    mutating func remove(space: Int, key: String) {
        guard let entry = self.spaces[space].entries.removeValue(forKey: MemoryKey(key)) else { return }
        self.changes &+= 1
        self.count -= 1
        self.bytes -= key.utf8.count + entry.value.readableBytes
        if self.bounded { self.recency.remove(entry.node) }
    }

    mutating func removeAll(space: Int) {
        self.changes &+= 1
        for index in self.subtree(of: space) {
            let entries = self.spaces[index].entries
            self.spaces[index].entries = [:]
            for (key, entry) in entries {
                self.count -= 1
                self.bytes -= key.string.utf8.count + entry.value.readableBytes
                if self.bounded { self.recency.remove(entry.node) }
            }
        }
    }

    /// Removes the expired entries of one namespace (not its children); returns how many.
    mutating func removeExpired(space: Int) -> Int {
        let now = self.now()
        var expired: [String] = []
        for (key, entry) in self.spaces[space].entries {
            if let expiresAt = entry.expiresAt, now >= expiresAt { expired.append(key.string) }
        }
        for key in expired { self.remove(space: space, key: key) }
        return expired.count
    }

    mutating func increment(space: Int, key: String, by amount: Int64, initialValue: Int64, expiresAt: Ticks?) throws(StoreError) -> Int64 {
        let entry = self.live(space: space, key: key)
        let value = try StoreCounter.incremented(entry?.value, by: amount, initialValue: initialValue, key: key)
        self.set(space: space, key: key, value: StoreCounter.encode(value), expiresAt: entry.map(\.expiresAt) ?? expiresAt)
        return value
    }

    mutating func snapshot(space: Int, key: String) -> Snapshot {
        guard let entry = self.live(space: space, key: key) else { return Snapshot() }
        return Snapshot(value: entry.value, version: entry.version)
    }

    /// Applies an update if the key is still as the snapshot saw it.
    /// - Returns: `false` when another write came in between, so the update must be retried.
    mutating func commit(space: Int, key: String, seen version: UInt64?, update: StoreUpdate, expiresAt: Ticks?) -> Bool {
        let current = self.live(space: space, key: key)
        guard current?.version == version else { return false }
        switch update {
        case .unchanged:
            break
        case .delete:
            self.remove(space: space, key: key)
        case .set(let value, _):
            self.set(space: space, key: key, value: value, expiresAt: expiresAt)
        case .setKeepingExpiry(let value):
            self.set(space: space, key: key, value: value, expiresAt: current?.expiresAt)
        }
        return true
    }

    /// Evicts the least recently used entries until the bounds hold again, never the most recent one.
    private mutating func evictBeyondBounds() {
        while self.count > 1,
            self.count > (self.maximumEntries ?? .max) || self.bytes > (self.maximumBytes ?? .max)
        {
            let node = self.recency.nodes[Int(self.recency.tail)]
            self.remove(space: node.space, key: node.key)
        }
    }
}
