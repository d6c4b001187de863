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

    @Test func aReadRacedByAnInvalidationNeverFills() {
        let tier = Self.tier()
        let ticket = tier.beginRead("k")
        tier.invalidate("k")
        tier.fill("k", value: ByteBuffer(string: "old"), milliseconds: nil, ticket: ticket, now: Self.now)
        #expect(tier.value(for: "k", now: Self.now) == nil, "the push came first: the read's value may be old")

        let all = tier.beginRead("k")
        tier.invalidateAll()
        tier.fill("k", value: ByteBuffer(string: "old"), milliseconds: nil, ticket: all, now: Self.now)
        #expect(tier.value(for: "k", now: Self.now) == nil, "a flush or a lost connection cancels every read")

        let first = tier.beginRead("k")
        let second = tier.beginRead("k")
        tier.fill("k", value: ByteBuffer(string: "first"), milliseconds: nil, ticket: first, now: Self.now)
        #expect(tier.value(for: "k", now: Self.now) == nil, "only the latest read of a key fills it")
        tier.fill("k", value: ByteBuffer(string: "second"), milliseconds: nil, ticket: second, now: Self.now)
        #expect(tier.value(for: "k", now: Self.now) == ByteBuffer(string: "second"))
    }

    @Test func aCopyExpiresWithTheKeyAndKeysAreComparedByTheirBytes() {
        let tier = Self.tier()
        tier.fill("k", value: ByteBuffer(string: "v"), milliseconds: 100, ticket: tier.beginRead("k"), now: Self.now)
        #expect(tier.value(for: "k", now: Self.now + .milliseconds(99)) == ByteBuffer(string: "v"))
        #expect(tier.value(for: "k", now: Self.now + .milliseconds(100)) == nil, "never past the key's time to live")
        tier.fill("gone", value: ByteBuffer(string: "v"), milliseconds: 0, ticket: tier.beginRead("gone"), now: Self.now)
        #expect(tier.count == 0, "an expiring key is not kept")

        let composed = "caf\u{E9}"
        let decomposed = "cafe\u{301}"
        tier.fill(composed, value: ByteBuffer(string: "1"), milliseconds: nil, ticket: tier.beginRead(composed), now: Self.now)
        #expect(tier.value(for: decomposed, now: Self.now) == nil, "canonically equal, but other bytes: another key")
        tier.invalidate(decomposed)
        #expect(tier.value(for: composed, now: Self.now) == ByteBuffer(string: "1"))
    }

    @Test func aKeyInTwoPartsIsTheKeyOfItsBytes() {
        #expect(RedisNearCacheKey("stash:a|", "key") == RedisNearCacheKey("stash:a|key"))
        #expect(RedisNearCacheKey("stash:a|", "key").hashValue == RedisNearCacheKey("stash:a|key").hashValue)
        #expect(RedisNearCacheKey("stash:a|", "ke") != RedisNearCacheKey("stash:a|key"))
        #expect(RedisNearCacheKey("stash:a|", "caf\u{E9}") != RedisNearCacheKey("stash:a|cafe\u{301}"), "bytes, not canonical equivalence")
        let tier = Self.tier()
        tier.fill("stash:a|key", value: ByteBuffer(string: "v"), milliseconds: nil, ticket: tier.beginRead("stash:a|key"), now: Self.now)
        #expect(tier.value(for: RedisNearCacheKey("stash:a|", "key"), now: Self.now) == ByteBuffer(string: "v"), "a read finds what a push names")
    }

    @Test func pushesDropTheirKeysOrEverything() {
        let tier = Self.tier()
        for key in ["a", "b", "c"] {
            tier.fill(key, value: ByteBuffer(string: key), milliseconds: nil, ticket: tier.beginRead(key), now: Self.now)
        }
        tier.apply(push: [.bulkString(ByteBuffer(string: "message")), .array([.bulkString(ByteBuffer(string: "a"))])])
        #expect(tier.count == 3, "not an invalidation")
        tier.apply(push: [.bulkString(ByteBuffer(string: "invalidate")), .array([.bulkString(ByteBuffer(string: "a"))])])
        #expect(tier.value(for: "a", now: Self.now) == nil && tier.count == 2)
        tier.apply(push: [.bulkString(ByteBuffer(string: "invalidate")), .null])
        #expect(tier.count == 0, "FLUSHALL and FLUSHDB send null: everything goes")
    }

    @Test func theLeastRecentlyUsedAreEvictedBeyondEitherBound() {
        let tier = Self.tier(entries: 3, bytes: 40)
        for key in ["a", "b", "c"] {
            tier.fill(key, value: ByteBuffer(repeating: 0, count: 9), milliseconds: nil, ticket: tier.beginRead(key), now: Self.now)
        }
        _ = tier.value(for: "a", now: Self.now)
        tier.fill("d", value: ByteBuffer(repeating: 0, count: 9), milliseconds: nil, ticket: tier.beginRead("d"), now: Self.now)
        #expect(tier.value(for: "b", now: Self.now) == nil, "b was the least recently used")
        #expect(tier.value(for: "a", now: Self.now) != nil && tier.count == 3)
        tier.fill("e", value: ByteBuffer(repeating: 0, count: 29), milliseconds: nil, ticket: tier.beginRead("e"), now: Self.now)
        #expect(tier.count == 2, "30 more bytes: the two least recent go (c, then d: a was read since)")
        #expect(tier.value(for: "c", now: Self.now) == nil && tier.value(for: "d", now: Self.now) == nil)
        #expect(tier.value(for: "a", now: Self.now) != nil && tier.value(for: "e", now: Self.now) != nil)
        tier.fill("f", value: ByteBuffer(repeating: 0, count: 40), milliseconds: nil, ticket: tier.beginRead("f"), now: Self.now)
        #expect(tier.value(for: "f", now: Self.now) == nil, "a value larger than the bound is never kept")
    }
}
