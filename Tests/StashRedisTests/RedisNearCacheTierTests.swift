import NIOCore
import Stash
import Testing

@testable import StashRedis

/// The near cache's decisions without a server: which reads may fill it, what pushes drop, its bounds and expiry.
@Suite struct RedisNearCacheTierTests {
    static func tier(entries: Int = 10, bytes: Int = 1 << 20) -> RedisNearCacheTier {
        RedisNearCacheTier(configuration: RedisNearCache(maximumEntries: entries, maximumBytes: bytes))
    }

    static let now = NIODeadline.uptimeNanoseconds(1_000_000_000)

    /// Fills `key` of `space` as an answered read does (on a clustered tier, with the slot of the Redis key
    /// `stash|` + `key`: the clustered tests use that namespace).
    static func fill(
        _ tier: RedisNearCacheTier,
        _ space: Int,
        _ key: String,
        _ value: String,
        count: Int? = nil,
        milliseconds: Int64? = nil
    ) {
        let bytes = count.map { ByteBuffer(repeating: 0, count: $0) } ?? ByteBuffer(string: value)
        let slot = tier.clustered ? Int16(RedisKeySlot.slot(of: "stash|" + key)) : -1
        tier.fill(in: space, key, with: .bytes(bytes), milliseconds: milliseconds, slot: slot, ticket: tier.beginRead(in: space, key), now: Self.now)
    }

    static func invalidation(_ keys: String...) -> [RESPValue] {
        [.bulkString(ByteBuffer(string: "invalidate")), .array(keys.map { .bulkString(ByteBuffer(string: $0)) })]
    }

    @Test func aReadRacedByAnInvalidationNeverFills() {
        let tier = Self.tier()
        let space = tier.space(for: "stash|")
        let ticket = tier.beginRead(in: space, "k")
        tier.invalidate(in: space, "k")
        tier.fill(in: space, "k", with: .bytes(ByteBuffer(string: "old")), milliseconds: nil, ticket: ticket, now: Self.now)
        #expect(tier.cached(in: space, "k", now: Self.now) == nil, "the write came first: the read's value may be old")

        let pushed = tier.beginRead(in: space, "k")
        tier.apply(push: Self.invalidation("stash|k"))
        tier.fill(in: space, "k", with: .bytes(ByteBuffer(string: "old")), milliseconds: nil, ticket: pushed, now: Self.now)
        #expect(tier.cached(in: space, "k", now: Self.now) == nil, "the push came first: the read's value may be old")

        let all = tier.beginRead(in: space, "k")
        tier.invalidateAll()
        tier.fill(in: space, "k", with: .bytes(ByteBuffer(string: "old")), milliseconds: nil, ticket: all, now: Self.now)
        #expect(tier.cached(in: space, "k", now: Self.now) == nil, "a flush or a lost connection cancels every read")

        let first = tier.beginRead(in: space, "k")
        let second = tier.beginRead(in: space, "k")
        tier.fill(in: space, "k", with: .bytes(ByteBuffer(string: "first")), milliseconds: nil, ticket: first, now: Self.now)
        #expect(tier.cached(in: space, "k", now: Self.now) == nil, "only the latest read of a key fills it")
        tier.fill(in: space, "k", with: .bytes(ByteBuffer(string: "second")), milliseconds: nil, ticket: second, now: Self.now)
        #expect(tier.cached(in: space, "k", now: Self.now) == .bytes(ByteBuffer(string: "second")))
    }

    @Test func aCopyExpiresWithTheKeyAndKeysAreComparedByTheirBytes() {
        let tier = Self.tier()
        let space = tier.space(for: "stash|")
        Self.fill(tier, space, "k", "v", milliseconds: 100)
        #expect(tier.cached(in: space, "k", now: Self.now + .milliseconds(99)) == .bytes(ByteBuffer(string: "v")))
        #expect(tier.cached(in: space, "k", now: Self.now + .milliseconds(100)) == nil, "never past the key's time to live")
        Self.fill(tier, space, "gone", "v", milliseconds: 0)
        #expect(tier.count == 0, "an expiring key is not kept")

        let composed = "caf\u{E9}"
        let decomposed = "cafe\u{301}"
        Self.fill(tier, space, composed, "1")
        #expect(tier.cached(in: space, decomposed, now: Self.now) == nil, "canonically equal, but other bytes: another key")
        tier.invalidate(in: space, decomposed)
        tier.apply(push: Self.invalidation("stash|" + decomposed))
        #expect(tier.cached(in: space, composed, now: Self.now) == .bytes(ByteBuffer(string: "1")))
        tier.apply(push: Self.invalidation("stash|" + composed))
        #expect(tier.cached(in: space, composed, now: Self.now) == nil)
    }

    @Test func aPushFindsItsKeyUnderTheNamespaceItNames() {
        let tier = Self.tier()
        let root = tier.space(for: "stash|")
        let child = tier.space(for: "stash:a|")
        #expect(tier.space(for: "stash:a|") == child, "one space per prefix")
        for space in [root, child] {
            Self.fill(tier, space, "k", "v")
            Self.fill(tier, space, "x|y", "v")
        }
        tier.apply(push: Self.invalidation("stash:a|k"))
        #expect(tier.cached(in: child, "k", now: Self.now) == nil)
        #expect(tier.cached(in: root, "k", now: Self.now) != nil, "the same store key in another namespace is another key")
        tier.apply(push: Self.invalidation("stash|x|y", "other|k", "stash", ""))
        #expect(tier.cached(in: root, "x|y", now: Self.now) == nil, "a key may hold `|`: the prefix is the namespace's")
        #expect(tier.cached(in: child, "x|y", now: Self.now) != nil && tier.count == 2)

        // A key with many `|`s is found by its first.
        let barred = String(repeating: "|", count: 1_000)
        Self.fill(tier, root, barred, "v")
        tier.apply(push: Self.invalidation("stash|" + barred))
        #expect(tier.cached(in: root, barred, now: Self.now) == nil)
    }

    @Test func recordsAndMissingKeysAreKeptBesideValues() {
        let tier = Self.tier()
        let space = tier.space(for: "stash|")
        let fields = ["user": ByteBuffer(string: "ada"), "visits": ByteBuffer(string: "3")]
        tier.fill(in: space, "s", with: .record(fields), milliseconds: 1_000, ticket: tier.beginRead(in: space, "s"), now: Self.now)
        #expect(tier.cached(in: space, "s", now: Self.now) == .record(fields))
        #expect(tier.cached(in: space, "s", now: Self.now + .seconds(1)) == nil, "never past the key's time to live")
        tier.fill(in: space, "gone", with: .missing, milliseconds: nil, ticket: tier.beginRead(in: space, "gone"), now: Self.now)
        #expect(tier.cached(in: space, "gone", now: Self.now) == .missing, "a key known to be missing")
        tier.apply(push: Self.invalidation("stash|gone"))
        #expect(tier.cached(in: space, "gone", now: Self.now) == nil, "until it is created")
    }

    @Test func deletingANamespaceDropsItAndItsChildrenOnly() {
        let tier = Self.tier()
        let spaces = ["stash:a|", "stash:a:b|", "stash:ab|", "stash|"].map { tier.space(for: $0) }
        for space in spaces { Self.fill(tier, space, "k", "v") }
        let ticket = tier.beginRead(in: spaces[1], "r")
        tier.invalidateNamespace("stash:a")
        #expect(tier.cached(in: spaces[0], "k", now: Self.now) == nil && tier.cached(in: spaces[1], "k", now: Self.now) == nil)
        #expect(tier.cached(in: spaces[2], "k", now: Self.now) != nil, "`stash:ab` is not a child of `stash:a`")
        #expect(tier.cached(in: spaces[3], "k", now: Self.now) != nil && tier.count == 2)
        tier.fill(in: spaces[1], "r", with: .bytes(ByteBuffer(string: "old")), milliseconds: nil, ticket: ticket, now: Self.now)
        #expect(tier.count == 2, "a read that raced the deletion does not fill")
    }

    @Test func pushesDropTheirKeysOrEverything() {
        let tier = Self.tier()
        let space = tier.space(for: "stash|")
        for key in ["a", "b", "c"] { Self.fill(tier, space, key, key) }
        tier.apply(push: [.bulkString(ByteBuffer(string: "message")), .array([.bulkString(ByteBuffer(string: "stash|a"))])])
        #expect(tier.count == 3, "not an invalidation")
        tier.apply(push: Self.invalidation("stash|a"))
        #expect(tier.cached(in: space, "a", now: Self.now) == nil && tier.count == 2)
        tier.apply(push: [.bulkString(ByteBuffer(string: "invalidate")), .null])
        #expect(tier.count == 0, "FLUSHALL and FLUSHDB send null: everything goes")
    }

    @Test func theLeastRecentlyUsedAreEvictedBeyondEitherBound() {
        // Each entry's size: its prefix (`p|`, 2 bytes), its key (1 byte) and its value.
        let tier = Self.tier(entries: 3, bytes: 40)
        let space = tier.space(for: "p|")
        for key in ["a", "b", "c"] { Self.fill(tier, space, key, "", count: 7) }
        _ = tier.cached(in: space, "a", now: Self.now)
        Self.fill(tier, space, "d", "", count: 7)
        #expect(tier.cached(in: space, "b", now: Self.now) == nil, "b was the least recently used")
        #expect(tier.cached(in: space, "a", now: Self.now) != nil && tier.count == 3)
        Self.fill(tier, space, "e", "", count: 27)
        #expect(tier.count == 2, "30 more bytes: the two least recent go (c, then d: a was read since)")
        #expect(tier.cached(in: space, "c", now: Self.now) == nil && tier.cached(in: space, "d", now: Self.now) == nil)
        #expect(tier.cached(in: space, "a", now: Self.now) != nil && tier.cached(in: space, "e", now: Self.now) != nil)
        Self.fill(tier, space, "f", "", count: 38)
        #expect(tier.cached(in: space, "f", now: Self.now) == nil, "a value larger than the bound is never kept")
        #expect(tier.count == 2, "and evicts nothing")
    }

    @Test func onAClusterSlotsThatMovedDropTheirKeysOnly() {
        let tier = RedisNearCacheTier(configuration: RedisNearCache(maximumEntries: 100, maximumBytes: 1 << 20), clustered: true)
        let space = tier.space(for: "stash|")
        let keys = (0..<20).map { "k\($0)" }
        for key in keys { Self.fill(tier, space, key, key) }
        // Keys with a hash tag hash by their tag alone: `stash|{t}a` and `stash|{t}b` are both in the slot of `t`.
        for key in ["{t}a", "{t}b"] { Self.fill(tier, space, key, key) }
        let moving = RedisKeySlot.slot(of: "t")
        var slots = [Bool](repeating: false, count: RedisKeySlot.count)
        slots[moving] = true
        let ticket = tier.beginRead(in: space, "k5")
        tier.invalidate(slots: slots)
        #expect(tier.cached(in: space, "{t}a", now: Self.now) == nil && tier.cached(in: space, "{t}b", now: Self.now) == nil)
        let others = keys.filter { RedisKeySlot.slot(of: "stash|" + $0) != moving }
        #expect(others.allSatisfy { tier.cached(in: space, $0, now: Self.now) == .bytes(ByteBuffer(string: $0)) }, "other slots stay")
        tier.fill(in: space, "k5", with: .bytes(ByteBuffer(string: "old")), milliseconds: nil, ticket: ticket, now: Self.now)
        #expect(tier.cached(in: space, "k5", now: Self.now) == .bytes(ByteBuffer(string: "k5")), "a read in flight may have gone to the old node")
    }
}
