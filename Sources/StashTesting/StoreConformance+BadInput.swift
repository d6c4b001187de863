import NIOCore
import Stash
import Testing

extension StoreConformance {
    func checkBadInput(_ store: S) async throws {
        try await store.set("kept", value: ByteBuffer(string: "original"), expiresIn: .seconds(600))
        let value = ByteBuffer(string: "v")

        let badKeys = ["", String(repeating: "k", count: StoreLimits.maximumKeyLength + 1), String(repeating: "é", count: 513)]
        for key in badKeys {
            let what = "a key of \(key.utf8.count) bytes"
            await self.expectError(.invalidKey, "get with \(what)") { try await store.get(key) }
            await self.expectError(.invalidKey, "get renewing with \(what)") { try await store.get(key, renewingFor: .seconds(1)) }
            await self.expectError(.invalidKey, "set with \(what)") { try await store.set(key, value: value) }
            await self.expectError(.invalidKey, "insert with \(what)") { try await store.insert(key, value: value) }
            await self.expectError(.invalidKey, "delete with \(what)") { try await store.delete(key) }
            await self.expectError(.invalidKey, "exists with \(what)") { try await store.exists(key) }
            await self.expectError(.invalidKey, "expiry with \(what)") { try await store.expiry(of: key) }
            await self.expectError(.invalidKey, "increment with \(what)") { try await store.increment(key) }
            await self.expectError(.invalidKey, "update with \(what)") { try await store.update(key) { _ in .delete } }
        }

        let badExpiries: [Duration] = [.zero, .seconds(-1), .nanoseconds(-1), StoreLimits.maximumExpiry + .seconds(1)]
        for expiry in badExpiries {
            let what = "an expiry of \(expiry)"
            await self.expectError(.invalidExpiry, "set with \(what)") { try await store.set("kept", value: value, expiresIn: expiry) }
            await self.expectError(.invalidExpiry, "insert with \(what)") { try await store.insert("new", value: value, expiresIn: expiry) }
            await self.expectError(.invalidExpiry, "get renewing with \(what)") { try await store.get("kept", renewingFor: expiry) }
            await self.expectError(.invalidExpiry, "increment with \(what)") { try await store.increment("count", by: 1, expiresIn: expiry) }
            await self.expectError(.invalidExpiry, "update with \(what)") {
                try await store.update("kept") { _ in .set(value, expiresIn: expiry) }
            }
        }

        // Values over the limit; only tried when the limit is small enough to allocate in a test.
        let limit = store.maximumValueSize
        if limit <= 64 * 1024 * 1024 {
            let tooLarge = ByteBuffer(repeating: 0x61, count: limit + 1)
            await self.expectError(.valueTooLarge, "set with a value over the limit") { try await store.set("kept", value: tooLarge) }
            await self.expectError(.valueTooLarge, "insert with a value over the limit") { try await store.insert("big", value: tooLarge) }
            await self.expectError(.valueTooLarge, "update with a value over the limit") {
                try await store.update("kept") { _ in .setKeepingExpiry(tooLarge) }
            }
            let atLimit = ByteBuffer(repeating: 0x62, count: limit)
            try await store.set("at-limit", value: atLimit)
            #expect(try await store.get("at-limit") == atLimit, "a value of exactly the limit is accepted")
        } else {
            Issue.record("maximumValueSize \(limit) is too large to test: configure the store under test with at most 64 MiB")
        }

        for name in [
            "", "a:b", "a/b", "..", ".", "a.b", "a b", "ü", "a\u{0}", "*", String(repeating: "n", count: StoreLimits.maximumNamespaceLength + 1),
        ] {
            await self.expectError(.invalidNamespace, "namespace \(name.debugDescription)") { try store.withNamespace(name) }
        }

        #expect(try await store.get("kept") == ByteBuffer(string: "original"), "rejected input changes nothing")
        guard case .expiresIn = try await store.expiry(of: "kept") else {
            Issue.record("rejected input must not change the key's expiry")
            return
        }
        #expect(try await store.exists("new") == false)
        #expect(try await store.exists("big") == false)
        #expect(try await store.exists("count") == false)
    }
}
