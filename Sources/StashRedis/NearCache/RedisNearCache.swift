import Stash

/// The near cache of a ``RedisStore``: values it read kept in process memory and served from there, kept coherent
/// with Redis by its client-side caching (RESP3 `CLIENT TRACKING`). Off unless ``RedisConfiguration/nearCache`` is
/// set.
///
/// **What is served locally**: ``RedisStore/get(_:)`` and ``RedisStore/record(_:renewingFor:)`` without a renewal —
/// what response caches read, session loads, and other read-mostly data — including that a key is missing (Redis
/// tracks a key read while missing, and pushes its creation). Everything that changes a key or must see
/// the server's latest state goes to Redis every time: sets, inserts, deletes, increments, updates
/// (compare-and-set), record merges (the session save), rate limits, renewals, `exists`, expiry queries and key
/// listing.
///
/// **Coherence**: every connection of the store turns tracking on in its default mode, so the server remembers the
/// keys each connection read and tells it, on the same connection, when one changes — written by any client,
/// expired, evicted or flushed. The tier drops the key when that push arrives; a push for `FLUSHALL`/`FLUSHDB`, and
/// any connection that closes (a reconnect loses the pushes sent meanwhile), drop everything before another read is
/// served from it. On a cluster, a `MOVED` drops the copies of every slot the node that sent it served, and a
/// topology read those of the slots that changed hands; ``RedisStore/deleteAll()`` drops its namespace's copies. A value is kept with the key's remaining time to live, never longer. A write through this store
/// drops its local copy before the command is sent and again once it is answered, so no read after the write's
/// answer returns the old value; another instance's write is seen here once its invalidation arrives (the window is
/// the push's way over the network).
///
/// Bounded by entries and bytes (keys and values), the least recently used evicted first.
public struct RedisNearCache: Sendable, Equatable {
    /// The most values kept.
    public var maximumEntries: Int
    /// The most bytes of keys and values kept.
    public var maximumBytes: Int

    /// Creates a near-cache configuration.
    /// - Parameters:
    ///   - maximumEntries: The most values kept, beyond which the least recently used are dropped.
    ///   - maximumBytes: The most bytes of keys and values kept, beyond which the least recently used are dropped.
    public init(maximumEntries: Int = 10_000, maximumBytes: Int = 64 * 1024 * 1024) {
        self.maximumEntries = maximumEntries
        self.maximumBytes = maximumBytes
    }

    /// Checks the limits a near cache cannot work with.
    func validate() throws(StoreError) {
        guard self.maximumEntries > 0 else {
            throw StoreError(.invalidConfiguration, "invalid Redis near cache: maximumEntries must be positive, not \(self.maximumEntries)")
        }
        guard self.maximumBytes > 0 else {
            throw StoreError(.invalidConfiguration, "invalid Redis near cache: maximumBytes must be positive, not \(self.maximumBytes)")
        }
    }
}
