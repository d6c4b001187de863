import Metrics
import NIOCore
import Stash
import Synchronization

/// The values a ``RedisStore`` with a ``RedisNearCache`` keeps in memory, and the invalidations that drop them.
///
/// A read that misses fills the tier only if nothing invalidated its key while the read was on its way: the read
/// takes a ticket before it is sent (``beginRead(_:)``), an invalidation of the key (or of everything) cancels the
/// tickets out, and ``fill(_:value:milliseconds:ticket:)`` keeps the value only with a ticket still valid. The
/// server's push for a write that raced the read arrives on the read's connection after its reply, so either it
/// finds the value and drops it, or it cancels the ticket first.
///
/// Metrics: `stash_redis_near_cache_reads_total` by `outcome` (`hit`: served from memory; `miss`: read from Redis),
/// and `stash_redis_near_cache_invalidations_total` by `scope` (`key`: one key changed; `all`: a flush, a lost
/// connection, a moved slot, `deleteAll`).
final class RedisNearCacheTier: Sendable {
    /// A read's ticket: the number the tier gave it.
    typealias Ticket = UInt64

    private struct Entry {
        var value: ByteBuffer
        var expiresAt: NIODeadline?
        var node: Int32
    }

    private struct State {
        /// Keyed by the key's bytes, as Redis compares keys (not by Swift's canonical equivalence).
        var entries: [RedisNearCacheKey: Entry] = [:]
        var recency = RecencyList()
        var bytes = 0
        /// The latest read in flight for each key; an invalidation removes it.
        var reads: [RedisNearCacheKey: Ticket] = [:]
        var lastTicket: Ticket = 0
    }

    let configuration: RedisNearCache
    private let state = Mutex(State())
    /// The values served from the tier, for tests (metrics go to the counters below).
    private let hitCount = Atomic<Int>(0)
    private let hitCounter = Counter(label: "stash_redis_near_cache_reads_total", dimensions: [("outcome", "hit")])
    private let missCounter = Counter(label: "stash_redis_near_cache_reads_total", dimensions: [("outcome", "miss")])
    private let keyInvalidations = Counter(label: "stash_redis_near_cache_invalidations_total", dimensions: [("scope", "key")])
    private let allInvalidations = Counter(label: "stash_redis_near_cache_invalidations_total", dimensions: [("scope", "all")])

    init(configuration: RedisNearCache) {
        self.configuration = configuration
    }

    var hits: Int { self.hitCount.load(ordering: .relaxed) }
    var count: Int { self.state.withLock { $0.entries.count } }

    /// The value kept for a Redis key, if any and not expired.
    func value(for key: String, now: NIODeadline? = nil) -> ByteBuffer? {
        self.value(for: RedisNearCacheKey(key), now: now)
    }

    /// The value kept for the Redis key `head` + `tail` (a namespace's prefix and a store key: no string is built).
    /// - Parameter now: The time to judge expiry by; the clock is read only for a value that expires.
    func value(for key: RedisNearCacheKey, now: NIODeadline? = nil) -> ByteBuffer? {
        let value = self.state.withLock { state -> ByteBuffer? in
            guard let entry = state.entries[key] else { return nil }
            if let expiresAt = entry.expiresAt, expiresAt <= (now ?? .now()) {
                Self.remove(key, from: &state)
                return nil
            }
            state.recency.touch(entry.node)
            return entry.value
        }
        if value == nil {
            self.missCounter.increment()
        } else {
            self.hitCount.add(1, ordering: .relaxed)
            self.hitCounter.increment()
        }
        return value
    }

    /// A read of `key` is about to be sent: its ticket for ``fill(_:value:milliseconds:ticket:)``.
    func beginRead(_ key: String) -> Ticket {
        self.state.withLock { state in
            state.lastTicket += 1
            state.reads[RedisNearCacheKey(key)] = state.lastTicket
            return state.lastTicket
        }
    }

    /// A read answered: keeps `value` for `milliseconds` (or until invalidated, for a key without an expiry) if its
    /// ticket is still the key's. A missing value, or a read that failed, only ends the ticket.
    func fill(_ key: String, value: ByteBuffer?, milliseconds: Int64?, ticket: Ticket, now: NIODeadline = .now()) {
        self.state.withLock { state in
            let key = RedisNearCacheKey(key)
            guard state.reads[key] == ticket else { return }
            state.reads.removeValue(forKey: key)
            guard let value else { return }
            if let milliseconds, milliseconds <= 0 { return }
            let size = key.head.utf8.count + value.readableBytes
            guard size <= self.configuration.maximumBytes else { return }
            Self.remove(key, from: &state)
            let node = state.recency.insert(space: 0, key: key.head)
            state.entries[key] = Entry(value: value.compacted, expiresAt: milliseconds.map { now + .milliseconds($0) }, node: node)
            state.bytes += size
            while state.entries.count > self.configuration.maximumEntries || state.bytes > self.configuration.maximumBytes,
                state.recency.tail >= 0
            {
                Self.remove(RedisNearCacheKey(state.recency.nodes[Int(state.recency.tail)].key), from: &state)
            }
        }
    }

    /// A key changed (a push from the server, or a write through this store): drops its value and cancels its reads.
    func invalidate(_ key: String) {
        self.state.withLock { state in
            state.reads.removeValue(forKey: RedisNearCacheKey(key))
            Self.remove(RedisNearCacheKey(key), from: &state)
        }
        self.keyInvalidations.increment()
    }

    /// Everything may have changed (a flush, a lost connection): drops every value and cancels every read.
    func invalidateAll() {
        self.state.withLock { state in
            state = State(lastTicket: state.lastTicket)
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
            for case .bulkString(let key) in keys { self.invalidate(String(buffer: key)) }
        default:
            self.invalidateAll()
        }
    }

    private static func remove(_ key: RedisNearCacheKey, from state: inout State) {
        guard let entry = state.entries.removeValue(forKey: key) else { return }
        state.recency.remove(entry.node)
        state.bytes -= key.head.utf8.count + key.tail.utf8.count + entry.value.readableBytes
    }
}
