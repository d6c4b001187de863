import NIOCore
import Stash
import Testing

extension StoreConformance {
    func checkExpiry(_ store: S) async throws {
        let ttl = self.shortExpiry
        let start = self.startTiming()
        try await store.set("short", value: ByteBuffer(string: "s"), expiresIn: ttl)
        try await store.set("forever", value: ByteBuffer(string: "f"))
        let early = try await store.get("short")
        if self.within(ttl, since: start) {
            #expect(early == ByteBuffer(string: "s"), "alive before its expiry")
        }
        if self.clock != nil {
            // Exactly at the boundary: alive one millisecond before, gone at the expiry.
            try await self.pass(ttl - .milliseconds(1))
            #expect(try await store.get("short") == ByteBuffer(string: "s"), "alive 1 ms before its expiry")
            try await self.pass(.milliseconds(1))
        } else {
            try await self.pass(ttl + .milliseconds(200))
        }
        #expect(try await store.get("short") == nil, "gone once its expiry has passed")
        #expect(try await store.exists("short") == false, "exists is false for an expired key")
        #expect(try await store.expiry(of: "short") == .missing, "the expiry query says missing for an expired key")
        #expect(try await store.get("short", renewingFor: .seconds(10)) == nil, "an expired key cannot be renewed")
        #expect(try await store.keys().collect() == ["forever"], "expired keys are not listed")
        #expect(try await store.get("forever") == ByteBuffer(string: "f"))

        // Sub-second and sub-millisecond durations are kept (rounded up to the millisecond), never truncated to zero.
        try await store.set("tiny", value: ByteBuffer(string: "t"), expiresIn: .microseconds(300))
        if self.clock != nil {
            #expect(try await store.get("tiny") == ByteBuffer(string: "t"), "300 µs rounds up to 1 ms, not down to 0")
            #expect(try await store.expiry(of: "tiny") == .expiresIn(.milliseconds(1)))
        }
        try await self.pass(.milliseconds(self.clock == nil ? 50 : 1))
        #expect(try await store.get("tiny") == nil)

        try await store.set("ten", value: ByteBuffer(string: "x"), expiresIn: .milliseconds(10_250))
        guard case .expiresIn(let remaining) = try await store.expiry(of: "ten") else {
            Issue.record("a key with an expiry must report its remaining time")
            return
        }
        if self.clock != nil {
            #expect(remaining == .milliseconds(10_250), "with a stopped clock the remaining time is exactly the TTL")
        } else {
            #expect(remaining <= .milliseconds(10_250) && remaining > .milliseconds(9_000))
        }
    }

    func checkRenewal(_ store: S) async throws {
        try await self.judgedInRealTime("renewal") { ttl, attempt in
            try await self.renewal(store, key: "session \(attempt)", ttl: ttl)
        }
        try await store.set("forever", value: ByteBuffer(string: "f"))
        #expect(try await store.get("forever", renewingFor: .milliseconds(1)) == ByteBuffer(string: "f"))
        #expect(try await store.expiry(of: "forever") == .never, "renewing never adds an expiry to a key without one")
        try await self.pass(.milliseconds(50))
        #expect(try await store.get("forever") == ByteBuffer(string: "f"))
    }

    /// One attempt at the renewal check; `false` when real time ran past the expiry before it could be judged.
    private func renewal(_ store: S, key: String, ttl: Duration) async throws -> Bool {
        let start = self.startTiming()
        try await store.set(key, value: ByteBuffer(string: "s"), expiresIn: ttl)
        try await self.pass(ttl * 0.6)
        let renewStart = self.startTiming()
        let renewed = try await store.get(key, renewingFor: ttl)
        guard self.within(ttl, since: start) else { return false }
        #expect(renewed == ByteBuffer(string: "s"))
        try await self.pass(ttl * 0.6)
        let afterRenewal = try await store.get(key)
        let expiry = try await store.expiry(of: key)
        guard self.within(ttl, since: renewStart) else { return false }
        #expect(afterRenewal == ByteBuffer(string: "s"), "renewed: alive past its first expiry")
        guard case .expiresIn(let remaining) = expiry else {
            Issue.record("a renewed key keeps an expiry, got \(expiry)")
            return true
        }
        #expect(remaining <= ttl * 0.4 + .milliseconds(1), "the renewal counts from when it happened")
        try await self.pass(ttl * 0.6)
        #expect(try await store.get(key) == nil, "a renewed key still expires")
        return true
    }

    func checkOverwriteClearsExpiry(_ store: S) async throws {
        try await store.set("key", value: ByteBuffer(string: "old"), expiresIn: self.shortExpiry)
        try await store.set("key", value: ByteBuffer(string: "new"))
        #expect(try await store.expiry(of: "key") == .never, "a set without expiry clears the old one")
        try await self.pass(self.shortExpiry * 2)
        #expect(try await store.get("key") == ByteBuffer(string: "new"))

        try await self.judgedInRealTime("a set with a new expiry") { ttl, attempt in
            try await self.expiryReplaced(store, key: "replaced \(attempt)", ttl: ttl)
        }
    }

    /// One attempt at checking that a set with a shorter expiry replaces a longer one; `false` when real time ran
    /// past the new expiry before the store was asked for it.
    private func expiryReplaced(_ store: S, key: String, ttl: Duration) async throws -> Bool {
        try await store.set(key, value: ByteBuffer(string: "newer"), expiresIn: .seconds(600))
        let start = self.startTiming()
        try await store.set(key, value: ByteBuffer(string: "newest"), expiresIn: ttl)
        let reported = try await store.expiry(of: key)
        guard self.within(ttl, since: start) else { return false }
        guard case .expiresIn(let remaining) = reported else {
            Issue.record("a key set with an expiry reports it, not \(reported)")
            return true
        }
        #expect(remaining <= ttl, "a set with a new expiry replaces the old one")
        try await self.pass(ttl * 2)
        #expect(try await store.get(key) == nil, "the key expires at the new expiry")
        return true
    }

    func checkDeleteExpired(_ store: S) async throws {
        let child = try store.withNamespace("child")
        for target in [store, child] {
            try await target.set("expired", value: ByteBuffer(string: "e"), expiresIn: self.shortExpiry)
            try await target.set("live", value: ByteBuffer(string: "l"))
            try await target.set("later", value: ByteBuffer(string: "l"), expiresIn: .seconds(600))
        }
        try await self.pass(self.shortExpiry * 2)
        try await store.deleteExpired()
        for target in [store, child] {
            #expect(try await target.get("expired") == nil)
            #expect(try await target.get("live") == ByteBuffer(string: "l"), "deleteExpired keeps live entries")
            #expect(try await target.get("later") == ByteBuffer(string: "l"), "deleteExpired keeps entries not yet expired")
            #expect(Set(try await target.keys().collect()) == ["live", "later"])
        }
    }
}
