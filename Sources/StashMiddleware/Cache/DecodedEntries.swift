import NIOCore
import Stash

/// The entries a cache decoded last, each with the stored bytes it came from, so that a hit on bytes already decoded
/// skips decoding them again: the stored value is compared byte for byte (a `memcmp`, cheaper than building the
/// header fields anew), so a replaced, damaged or expired-and-rewritten entry is decoded afresh.
///
/// Bounded in entries and in bytes kept: a memory store's values share their bytes with the store, other stores'
/// are copies, and a value larger than ``maximumValueSize`` is never kept. When full, an arbitrary entry makes room.
final class DecodedEntries: Sendable {
    /// The most entries kept.
    static let maximumCount = 1024
    /// The most stored bytes kept, all entries together.
    static let maximumBytes = 16 * 1024 * 1024
    /// The largest stored value kept.
    static let maximumValueSize = 256 * 1024

    private struct State {
        var entries: [String: (stored: ByteBuffer, entry: CacheEntry)] = [:]
        var bytes = 0
    }

    private let state = Locked(State())

    /// How many entries are kept, and how many stored bytes they hold.
    var usage: (count: Int, bytes: Int) {
        self.state.withLock { ($0.entries.count, $0.bytes) }
    }

    /// The entry decoded from exactly these bytes under `key`, if it is still here.
    func entry(forKey key: String, stored: ByteBuffer) -> CacheEntry? {
        self.state.withLock { state in
            guard let kept = state.entries[key], kept.stored == stored else { return nil }
            return kept.entry
        }
    }

    /// Keeps the entry decoded from `stored` under `key`, in place of any other.
    func keep(_ entry: CacheEntry, forKey key: String, stored: ByteBuffer) {
        guard stored.readableBytes <= Self.maximumValueSize else { return }
        self.state.withLock { state in
            if let replaced = state.entries.removeValue(forKey: key) {
                state.bytes -= replaced.stored.readableBytes
            }
            while !state.entries.isEmpty,
                state.entries.count >= Self.maximumCount || state.bytes + stored.readableBytes > Self.maximumBytes
            {
                let evicted = state.entries.remove(at: state.entries.startIndex)
                state.bytes -= evicted.value.stored.readableBytes
            }
            state.entries[key] = (stored, entry)
            state.bytes += stored.readableBytes
        }
    }
}
