import Metrics
import NIOCore
import Stash

/// The values a ``RedisStore`` with a ``RedisNearCache`` keeps in memory, and the invalidations that drop them.
///
/// Keys are held as the memory store holds them: per namespace (a *space*: the Redis key prefix a store's keys share,
/// interned once by ``space(for:)``), by the key's bytes. A read looks its key up without building the Redis key's
/// string; a push, which names the whole Redis key, is split at the prefixes the tier knows.
///
/// A read that misses fills the tier only if nothing invalidated its key while the read was on its way: the read
/// takes a ticket before it is sent (``beginRead(in:_:)``), an invalidation of the key (or of everything) cancels the
/// tickets out, and ``fill(in:_:with:milliseconds:slot:ticket:now:)`` keeps the value only with a ticket still valid. The
/// server's push for a write that raced the read arrives on the read's connection after its reply, so either it
/// finds the value and drops it, or it cancels the ticket first.
///
/// Metrics: `stash_redis_near_cache_reads_total` by `outcome` (`hit`: served from memory; `miss`: read from Redis),
/// and `stash_redis_near_cache_invalidations_total` by `scope` (`key`: one key changed; `all`: a flush, a lost
/// connection, `deleteAll`; `slots`: slots moved to another node of a cluster).
final class RedisNearCacheTier: Sendable {
    /// A read's ticket: the number the tier gave it.
    typealias Ticket = UInt64

    /// What a key holds: a value (`GET`), a record (`HGETALL`), or nothing. A read of the other kind than the one
    /// kept is not served from here (Redis answers it: `WRONGTYPE`).
    enum Value: Equatable {
        case bytes(ByteBuffer)
        case record([String: ByteBuffer])
        /// The key does not exist. Redis tracks a key a client read whether it exists or not, so its creation by
        /// anyone is pushed like any change: a read of a missing key (a response-cache lookup for a route whose
        /// responses are never stored) is served from memory too.
        case missing

        /// The bytes the value holds in memory, for the tier's byte bound.
        var size: Int {
            switch self {
            case .bytes(let bytes): bytes.readableBytes
            case .record(let fields): fields.reduce(0) { $0 + $1.key.utf8.count + $1.value.readableBytes }
            case .missing: 0
            }
        }

        /// The value in buffers of its own (not slices of the reply that carried it, which would keep it alive).
        var compacted: Self {
            switch self {
            case .bytes(let bytes): .bytes(bytes.compacted)
            case .record(let fields): .record(fields.mapValues(\.compacted))
            case .missing: .missing
            }
        }
    }

    private struct Entry {
        var value: Value
        var expiresAt: NIODeadline?
        var node: Int32
        var size: Int
        /// The key's hash slot on a cluster, -1 on a single server.
        var slot: Int16
    }

    /// The keys of one prefix.
    private struct Space {
        let head: String
        var entries: [MemoryKey: Entry] = [:]
        /// The latest read in flight for each key; an invalidation removes it.
        var reads: [MemoryKey: Ticket] = [:]
    }

    private struct State {
        var spaces: [Space] = []
        var heads: [MemoryKey: Int] = [:]
        var recency = RecencyList()
        var count = 0
        var bytes = 0
        var lastTicket: Ticket = 0
        var hits = 0
    }

    let configuration: RedisNearCache
    /// Whether the keys are a cluster's: each entry then knows its slot, given to
    /// ``fill(in:_:with:milliseconds:slot:ticket:now:)``, for ``invalidate(slots:)``.
    let clustered: Bool
    private let state = Locked(State())
    private let hitCounter = Counter(label: "stash_redis_near_cache_reads_total", dimensions: [("outcome", "hit")])
    private let missCounter = Counter(label: "stash_redis_near_cache_reads_total", dimensions: [("outcome", "miss")])
    private let keyInvalidations = Counter(label: "stash_redis_near_cache_invalidations_total", dimensions: [("scope", "key")])
    private let allInvalidations = Counter(label: "stash_redis_near_cache_invalidations_total", dimensions: [("scope", "all")])
    private let slotInvalidations = Counter(label: "stash_redis_near_cache_invalidations_total", dimensions: [("scope", "slots")])

    init(configuration: RedisNearCache, clustered: Bool = false) {
        self.configuration = configuration
        self.clustered = clustered
    }

    /// The reads served from the tier, for tests (metrics go to the counters).
    var hits: Int { self.state.withLock { $0.hits } }
    var count: Int { self.state.withLock { $0.count } }

    /// The space of the keys that start with `head` (a namespace's Redis key prefix and `|`); the same for the same
    /// bytes, for as long as the tier lives.
    func space(for head: String) -> Int {
        self.state.withLock { state in
            if let space = state.heads[MemoryKey(head)] { return space }
            state.spaces.append(Space(head: head))
            state.heads[MemoryKey(head)] = state.spaces.count - 1
            return state.spaces.count - 1
        }
    }

    /// What the tier holds for `key` of `space`, if anything that has not expired.
    /// - Parameter now: The time to judge expiry by; the clock is read only for a value that expires.
    func cached(in space: Int, _ key: String, now: NIODeadline? = nil) -> Value? {
        let value = self.state.withLock { state -> Value? in
            guard let entry = state.spaces[space].entries[MemoryKey(key)] else { return nil }
            if let expiresAt = entry.expiresAt, expiresAt <= (now ?? .now()) {
                Self.remove(space, MemoryKey(key), from: &state)
                return nil
            }
            state.recency.touch(entry.node)
            state.hits &+= 1
            return entry.value
        }
        if value == nil {
            self.missCounter.increment()
        } else {
            self.hitCounter.increment()
        }
        return value
    }

    /// A read of `key` is about to be sent: its ticket for ``fill(in:_:with:milliseconds:slot:ticket:now:)``.
    func beginRead(in space: Int, _ key: String) -> Ticket {
        self.state.withLock { state in
            state.lastTicket += 1
            state.spaces[space].reads[MemoryKey(key)] = state.lastTicket
            return state.lastTicket
        }
    }

    /// A read answered: keeps `value` for `milliseconds` (or until invalidated, for a key without an expiry) if its
    /// ticket is still the key's. A read that failed (`nil`) only ends the ticket.
    /// - Parameter slot: The Redis key's hash slot on a cluster (-1 on a single server).
    func fill(
        in space: Int,
        _ key: String,
        with value: Value?,
        milliseconds: Int64?,
        slot: Int16 = -1,
        ticket: Ticket,
        now: NIODeadline = .now()
    ) {
        let key = MemoryKey(key)
        let kept = value?.compacted
        self.state.withLock { state in
            guard state.spaces[space].reads[key] == ticket else { return }
            state.spaces[space].reads.removeValue(forKey: key)
            guard let kept else { return }
            if let milliseconds, milliseconds <= 0 { return }
            let size = state.spaces[space].head.utf8.count + key.string.utf8.count + kept.size
            guard size <= self.configuration.maximumBytes else { return }
            Self.remove(space, key, from: &state)
            let node = state.recency.insert(space: space, key: key.string)
            let expiresAt = milliseconds.map { now + .milliseconds($0) }
            state.spaces[space].entries[key] = Entry(value: kept, expiresAt: expiresAt, node: node, size: size, slot: slot)
            state.count += 1
            state.bytes += size
            while state.count > self.configuration.maximumEntries || state.bytes > self.configuration.maximumBytes,
                state.recency.tail >= 0
            {
                let least = state.recency.nodes[Int(state.recency.tail)]
                Self.remove(least.space, MemoryKey(least.key), from: &state)
            }
        }
    }

    /// A key changed (a write through this store): drops its value and cancels its reads.
    func invalidate(in space: Int, _ key: String) {
        self.state.withLock { state in
            Self.invalidate(space, MemoryKey(key), in: &state)
        }
        self.keyInvalidations.increment()
    }

    /// A Redis key changed (a push from the server): drops the value of every key of a known prefix it names.
    func invalidate(redisKey: String) {
        // A namespace's prefix is the key prefix and namespace names, none of which may hold a `|`, then one `|`: the
        // key's prefix is its bytes up to its first `|` (only that one is looked at, however many the key holds).
        let bytes = redisKey.utf8
        guard let bar = bytes.firstIndex(of: UInt8(ascii: "|")) else { return }
        let index = bytes.index(after: bar)
        guard let head = String(bytes[..<index]), let key = String(bytes[index...]) else { return }
        self.state.withLock { state in
            guard let space = state.heads[MemoryKey(head)] else { return }
            Self.invalidate(space, MemoryKey(key), in: &state)
        }
        self.keyInvalidations.increment()
    }

    /// A namespace's keys were deleted: drops the values of the keys that start with `prefix` and `|` (its own) or
    /// `prefix` and `:` (its children's), and cancels their reads.
    func invalidateNamespace(_ prefix: String) {
        let own = prefix + "|"
        let children = prefix + ":"
        self.state.withLock { state in
            for space in state.spaces.indices {
                let head = state.spaces[space].head.utf8
                guard head.starts(with: own.utf8) || head.starts(with: children.utf8) else { continue }
                for key in state.spaces[space].entries.keys { Self.remove(space, key, from: &state) }
                state.spaces[space].reads = [:]
            }
        }
        self.allInvalidations.increment()
    }

    /// Slots moved to other nodes of a cluster (`slots[slot]` is true for each): drops the values of their keys, and
    /// cancels every read in flight (one may have gone to the node that no longer serves its slot).
    func invalidate(slots: [Bool]) {
        self.state.withLock { state in
            for space in state.spaces.indices {
                state.spaces[space].reads = [:]
                let moved = state.spaces[space].entries.filter { $0.value.slot >= 0 && slots[Int($0.value.slot)] }
                for key in moved.keys { Self.remove(space, key, from: &state) }
            }
        }
        self.slotInvalidations.increment()
    }

    /// Everything may have changed (a flush, a lost connection): drops every value and cancels every read.
    func invalidateAll() {
        self.state.withLock { state in
            for space in state.spaces.indices {
                state.spaces[space].entries = [:]
                state.spaces[space].reads = [:]
            }
            state.recency = RecencyList()
            state.count = 0
            state.bytes = 0
        }
        self.allInvalidations.increment()
    }

    /// Applies a RESP3 push: `invalidate` with the keys that changed, or with null for a flush. Other pushes are
    /// not the tier's.
    func apply(push: [RESPValue]) {
        guard push.count == 2, case .bulkString(let kind) = push[0], kind.readableBytesView.elementsEqual("invalidate".utf8) else {
            return
        }
        switch push[1] {
        case .array(let keys), .set(let keys):
            for case .bulkString(let key) in keys { self.invalidate(redisKey: String(buffer: key)) }
        default:
            self.invalidateAll()
        }
    }

    private static func invalidate(_ space: Int, _ key: MemoryKey, in state: inout State) {
        state.spaces[space].reads.removeValue(forKey: key)
        Self.remove(space, key, from: &state)
    }

    private static func remove(_ space: Int, _ key: MemoryKey, from state: inout State) {
        guard let entry = state.spaces[space].entries.removeValue(forKey: key) else { return }
        state.recency.remove(entry.node)
        state.count -= 1
        state.bytes -= entry.size
    }
}
