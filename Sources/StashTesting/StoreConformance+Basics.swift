import NIOCore
import Stash
import Testing

extension StoreConformance {
    /// Keys every store must accept and keep apart: paths, separators, NUL bytes, emoji, the longest allowed.
    static var oddKeys: [String] {
        [
            "plain",
            "../../etc/passwd",
            "a/b",
            "a:b",
            "with\u{0}nul",
            " ",
            "ключ",
            "caf\u{E9}",  // é precomposed…
            "cafe\u{301}",  // …and decomposed: canonically equal Strings, different bytes, different keys
            String(repeating: "😀", count: StoreLimits.maximumKeyLength / 4),
            String(repeating: "k", count: StoreLimits.maximumKeyLength),
            "*",
            "stash:plain",
            "%2e%2e",
            "'; DROP TABLE stash; --",
        ]
    }

    func checkMissingKeys(_ store: S) async throws {
        #expect(try await store.get("missing") == nil)
        #expect(try await store.get("missing", renewingFor: .seconds(10)) == nil)
        #expect(try await store.exists("missing") == false)
        #expect(try await store.expiry(of: "missing") == .missing)
        try await store.delete("missing")
        #expect(try await store.keys().collect().isEmpty)
        #expect(try await store.update("missing") { _ in .unchanged } == nil)
        #expect(try await store.exists("missing") == false, "an unchanged update must not create the key")
        try await store.deleteAll()
        try await store.deleteExpired()
    }

    func checkRoundTrips(_ store: S) async throws {
        var everyByte = ByteBuffer()
        everyByte.writeBytes((0...255).map { UInt8($0) })
        var large = ByteBuffer()
        var generator = SystemRandomNumberGenerator()
        large.writeBytes((0..<(256 * 1024)).map { _ in UInt8.random(in: 0...255, using: &generator) })
        let values = [everyByte, ByteBuffer(), large, ByteBuffer(string: "a value")]

        for value in values {
            try await store.set("value", value: value)
            #expect(try await store.get("value") == value, "a \(value.readableBytes)-byte value must read back unchanged")
        }
        for (index, key) in Self.oddKeys.enumerated() {
            try await store.set(key, value: ByteBuffer(string: "value \(index)"))
        }
        for (index, key) in Self.oddKeys.enumerated() {
            #expect(try await store.get(key) == ByteBuffer(string: "value \(index)"), "key \(key.debugDescription) must read back its own value")
            #expect(try await store.exists(key))
        }
        let listed = try await store.keys().collect()
        #expect(listed.count == Self.oddKeys.count + 1, "every key is listed once; keys are compared byte for byte")
        let exactBytes = Set(listed.map { Array($0.utf8) }) == Set((Self.oddKeys + ["value"]).map { Array($0.utf8) })
        #expect(exactBytes, "listing returns every key with its exact bytes")
        try await store.set("plain", value: ByteBuffer(string: "replaced"))
        #expect(try await store.get("plain") == ByteBuffer(string: "replaced"))
    }

    func checkDeleteAndExists(_ store: S) async throws {
        try await store.set("forever", value: ByteBuffer(string: "f"))
        let setAt = ContinuousClock.now
        try await store.set("for a while", value: ByteBuffer(string: "w"), expiresIn: .seconds(30))
        #expect(try await store.exists("forever"))
        #expect(try await store.expiry(of: "forever") == .never)
        guard case .expiresIn(let remaining) = try await store.expiry(of: "for a while") else {
            Issue.record("a key set with an expiry must report its remaining time")
            return
        }
        // Under 30 s by at most the time since the write (and a millisecond of rounding), however slow the machine.
        let elapsed = ContinuousClock.now - setAt
        #expect(
            remaining > .seconds(30) - elapsed - .milliseconds(1) && remaining <= .seconds(30),
            "remaining \(remaining), \(elapsed) after the write"
        )
        #expect(remaining == .milliseconds(remaining.roundedMilliseconds), "the remaining time is kept to the millisecond")

        try await store.delete("forever")
        #expect(try await store.get("forever") == nil)
        #expect(try await store.exists("forever") == false)
        #expect(try await store.expiry(of: "forever") == .missing)
        #expect(try await store.exists("for a while"), "deleting one key leaves the others")
        try await store.delete("forever")
    }

    func checkInsert(_ store: S) async throws {
        #expect(try await store.insert("key", value: ByteBuffer(string: "first")))
        #expect(try await store.insert("key", value: ByteBuffer(string: "second")) == false)
        #expect(try await store.get("key") == ByteBuffer(string: "first"), "a refused insert leaves the value as it was")
        await self.expectError(.alreadyExists, "create on an existing key") {
            try await store.create("key", value: ByteBuffer(string: "third"))
        }
        #expect(try await store.get("key") == ByteBuffer(string: "first"))

        // A live key with an expiry refuses an insert: one that lives long enough for a busy machine to try.
        #expect(try await store.insert("lasting", value: ByteBuffer(string: "old"), expiresIn: .seconds(600)))
        #expect(try await store.insert("lasting", value: ByteBuffer(string: "refused")) == false, "a live key refuses an insert")
        #expect(try await store.get("lasting") == ByteBuffer(string: "old"))
        #expect(try await store.insert("expiring", value: ByteBuffer(string: "old"), expiresIn: self.shortExpiry))
        try await self.pass(self.shortExpiry * 2)
        #expect(try await store.insert("expiring", value: ByteBuffer(string: "new")), "insert succeeds on an expired key")
        #expect(try await store.get("expiring") == ByteBuffer(string: "new"))
        #expect(try await store.expiry(of: "expiring") == .never, "the inserted value has the expiry it was given: none")

        try await store.create("created", value: ByteBuffer(string: "c"), expiresIn: .seconds(60))
        #expect(try await store.get("created") == ByteBuffer(string: "c"))
    }

    func checkCodable(_ store: S) async throws {
        let profile = ConformanceProfile(name: "Ada", visits: 3)
        try await store.set("profile", encoding: profile)
        #expect(try await store.get("profile", as: ConformanceProfile.self) == profile)
        #expect(try await store.get("nobody", as: ConformanceProfile.self) == nil)
        #expect(try await store.insert("profile", encoding: profile) == false)
        await self.expectError(.conversionFailed, "decoding a value as the wrong type") {
            try await store.get("profile", as: [Int].self)
        }
        try await store.set("garbage", value: ByteBuffer(bytes: [0xFF, 0x00, 0x7B]))
        await self.expectError(.conversionFailed, "decoding bytes that are not JSON") {
            try await store.get("garbage", as: ConformanceProfile.self)
        }
    }
}

extension Duration {
    /// The duration in whole milliseconds (rounded to nearest), for checking a store's precision.
    var roundedMilliseconds: Int64 {
        let (seconds, attoseconds) = self.components
        return seconds * 1000 + (attoseconds + 500_000_000_000_000) / 1_000_000_000_000_000
    }
}

/// A `Codable` value for the typed-helper check.
struct ConformanceProfile: Codable, Equatable {
    var name: String
    var visits: Int
}
