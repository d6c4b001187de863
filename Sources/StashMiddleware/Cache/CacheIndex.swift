import Crypto
import NIOCore
import Stash

/// Sets of stored entries the cache removes together without listing the store: the variants of a URL whose
/// responses vary, and the responses that carry a tag.
///
/// A set is a store record whose fields are the entries' keys, one record per set and per period of a day (its
/// epoch): members join the record of the period they are stored in, and the record expires at the end of the
/// following period, so no record is rewritten to extend it, none grows with more than a period's distinct keys, and
/// none outlives its members by much. For that, a member is kept at most until the end of the following period
/// (between one and two days): ``longestExpiry(at:)`` caps its expiry. Removing a set takes the records of the
/// periods before, at and after the current one (so a clock up to a period apart finds them too); older members have
/// expired.
///
/// A member joins its set before it is written, so an entry in the store is always found by its set.
enum CacheIndex {
    /// What a set gathers.
    enum Kind: String, Sendable {
        /// The variants of one URL, by its base key.
        case url = "u"
        /// The responses with one tag.
        case tag = "t"
    }

    /// The length of a period, in milliseconds: a day.
    static let period: Int64 = 24 * 3600 * 1000
    /// How much longer than its members a record is kept, for instances whose clocks differ a little.
    static let margin: Int64 = 5 * 60 * 1000
    /// Starts every set's key: a control character no base key starts with (a custom key builder's keys aside).
    static let keyPrefix = "\u{1E}"

    /// The key of a set's record for the period `epoch`; a name too long for a key is replaced by its digest.
    static func key(_ kind: Kind, name: String, epoch: Int64) -> String {
        let prefix = Self.keyPrefix + kind.rawValue + String(epoch) + String(CacheKeys.variantSeparator)
        guard prefix.utf8.count + name.utf8.count > StoreLimits.maximumKeyLength else { return prefix + name }
        return prefix + "#" + SHA256.hexDigest(name.utf8)
    }

    /// The period an instant (milliseconds since the epoch) falls in.
    static func epoch(at now: Int64) -> Int64 {
        now >= 0 ? now / Self.period : -1
    }

    /// The longest a member stored at `now` may be kept, in milliseconds: until the end of the following period.
    static func longestExpiry(at now: Int64) -> Int64 {
        (Self.epoch(at: now) + 2) * Self.period - now
    }

    /// Adds an entry's key to sets, before the entry is written.
    /// - Throws: What the store throws; then the entry must not be written.
    static func add(_ member: String, to sets: [(Kind, String)], store: any Store, now: Int64) async throws {
        let epoch = Self.epoch(at: now)
        let expiry = Duration.milliseconds(Self.longestExpiry(at: now) + Self.margin)
        let fields = [member: ByteBuffer()]
        for (kind, name) in sets {
            let key = Self.key(kind, name: name, epoch: epoch)
            // Joined to an existing record, or one made for it; another instance may make it first, then join it.
            var joined = false
            for _ in 0..<3 where !joined {
                if try await store.mergeRecord(key, RecordChanges(set: fields)) != .missing {
                    joined = true
                } else if try await store.insertRecord(key, fields: fields, expiresIn: expiry) {
                    joined = true
                }
            }
            guard joined else { throw StoreError(.unavailable, "the cache index \(key.debugDescription) could not be joined") }
        }
    }

    /// Takes a set's records for the periods around `now` from the store.
    /// - Returns: The keys of the entries they listed.
    static func take(_ kind: Kind, name: String, store: any Store, now: Int64) async throws -> Set<String> {
        let epoch = Self.epoch(at: now)
        var members = Set<String>()
        for period in (epoch - 1)...(epoch + 1) {
            if let record = try await store.takeRecord(Self.key(kind, name: name, epoch: period)) {
                members.formUnion(record.keys)
            }
        }
        return members
    }
}
