import NIOCore
import Stash
import Testing

extension StoreConformance {
    func checkIncrement(_ store: S) async throws {
        #expect(try await store.increment("counter") == 1, "a new counter starts from 0")
        #expect(try await store.increment("counter", by: 41) == 42)
        #expect(try await store.increment("counter", by: -50) == -8, "amounts may be negative")
        #expect(try await store.get("counter") == ByteBuffer(string: "-8"), "counters are stored as decimal digits")
        #expect(try await store.increment("seeded", by: 5, initialValue: 100, expiresIn: nil) == 105)

        try await store.set("digits", value: ByteBuffer(string: "17"))
        #expect(try await store.increment("digits") == 18, "a value written as digits is a counter")

        // A fixed window: the expiry is set when the counter is created, never moved by later increments.
        try await self.judgedInRealTime("the fixed-window increment") { window, attempt in
            try await self.fixedWindow(store, key: "window \(attempt)", window: window)
        }

        try await store.set("forever", value: ByteBuffer(string: "1"))
        #expect(try await store.increment("forever", by: 1, expiresIn: .seconds(5)) == 2)
        #expect(try await store.expiry(of: "forever") == .never, "incrementing an existing counter never adds an expiry")

        // Only the canonical decimal form is a counter, as in Redis: no sign but '-', no leading zeros, no spaces.
        for text in ["twelve", "007", "-0", "+1", " 1", "1 ", "1.0", "0x10", "", "-", "99999999999999999999", "1\u{0}"] {
            try await store.set("text", value: ByteBuffer(string: text))
            await self.expectError(.conversionFailed, "incrementing \(text.debugDescription), which is not a canonical integer") {
                try await store.increment("text")
            }
            #expect(try await store.get("text") == ByteBuffer(string: text), "a failed increment changes nothing")
        }
        for (text, next) in [("0", Int64(1)), ("-5", -4), (String(Int64.min), Int64.min + 1)] {
            try await store.set("text", value: ByteBuffer(string: text))
            #expect(try await store.increment("text") == next, "\(text) is a counter")
        }
        try await store.set("max", value: ByteBuffer(string: String(Int64.max)))
        await self.expectError(.conversionFailed, "incrementing past Int64.max") {
            try await store.increment("max")
        }
        #expect(try await store.get("max") == ByteBuffer(string: String(Int64.max)))
    }

    /// One attempt at the fixed-window check; `false` when real time ran past the window before it could be judged.
    private func fixedWindow(_ store: S, key: String, window: Duration) async throws -> Bool {
        let start = self.startTiming()
        #expect(try await store.increment(key, by: 1, expiresIn: window) == 1)
        try await self.pass(window * 0.6)
        let second = try await store.increment(key, by: 1, expiresIn: window)
        let expiry = try await store.expiry(of: key)
        guard self.within(window, since: start) else { return false }
        #expect(second == 2)
        guard case .expiresIn(let remaining) = expiry else {
            Issue.record("a counter created with an expiry keeps it, got \(expiry)")
            return true
        }
        #expect(remaining <= window * 0.4 + .milliseconds(1), "incrementing must not extend the window")
        try await self.pass(window * 0.6)
        #expect(try await store.get(key) == nil, "the window ends when it was set to")
        #expect(try await store.increment(key, by: 1, expiresIn: window) == 1, "an expired counter starts again")
        return true
    }

    func checkConcurrentInserts(_ store: S) async throws {
        let winners = try await withThrowingTaskGroup(of: Int?.self) { group in
            for index in 0..<100 {
                group.addTask {
                    try await store.insert("lock", value: ByteBuffer(string: "owner \(index)"), expiresIn: .seconds(600)) ? index : nil
                }
            }
            var winners: [Int] = []
            for try await winner in group {
                if let winner { winners.append(winner) }
            }
            return winners
        }
        #expect(winners.count == 1, "exactly one of 100 concurrent inserts of one key wins, got \(winners.count)")
        if let winner = winners.first {
            #expect(try await store.get("lock") == ByteBuffer(string: "owner \(winner)"), "the stored value is the winner's")
        }
    }

    func checkConcurrentIncrements(_ store: S) async throws {
        let results = try await withThrowingTaskGroup(of: Int64.self) { group in
            for _ in 0..<1000 {
                group.addTask { try await store.increment("hits", by: 1, expiresIn: .seconds(600)) }
            }
            var results: [Int64] = []
            for try await result in group { results.append(result) }
            return results
        }
        #expect(try await store.get("hits") == ByteBuffer(string: "1000"), "1,000 concurrent increments end at exactly 1,000")
        #expect(results.sorted() == Array(1...1000), "every increment returns a distinct value: none was lost or repeated")
    }

    func checkUpdate(_ store: S) async throws {
        let created = try await store.update("doc") { current in
            #expect(current == nil)
            return .set(ByteBuffer(string: "v1"), expiresIn: nil)
        }
        #expect(created == ByteBuffer(string: "v1"), "update returns the value it stored")
        #expect(try await store.get("doc") == ByteBuffer(string: "v1"))

        let unchanged = try await store.update("doc") { _ in .unchanged }
        #expect(unchanged == ByteBuffer(string: "v1"), "an unchanged update returns the current value")

        try await store.set("timed", value: ByteBuffer(string: "t1"), expiresIn: .seconds(60))
        try await self.pass(.milliseconds(self.clock == nil ? 100 : 10_000))
        _ = try await store.update("timed") { current in
            #expect(current == ByteBuffer(string: "t1"))
            return .setKeepingExpiry(ByteBuffer(string: "t2"))
        }
        #expect(try await store.get("timed") == ByteBuffer(string: "t2"))
        guard case .expiresIn(let remaining) = try await store.expiry(of: "timed") else {
            Issue.record("setKeepingExpiry keeps the key's expiry")
            return
        }
        #expect(remaining < .seconds(60), "setKeepingExpiry keeps the remaining time, it does not restart it")

        _ = try await store.update("timed") { _ in .set(ByteBuffer(string: "t3"), expiresIn: nil) }
        #expect(try await store.expiry(of: "timed") == .never, "set in an update replaces the expiry")
        _ = try await store.update("fresh") { _ in .setKeepingExpiry(ByteBuffer(string: "f")) }
        #expect(try await store.expiry(of: "fresh") == .never, "setKeepingExpiry on a new key gives it no expiry")
        _ = try await store.update("short") { _ in .set(ByteBuffer(string: "s"), expiresIn: self.shortExpiry) }
        try await self.pass(self.shortExpiry * 2)
        #expect(try await store.get("short") == nil, "an expiry set by an update applies")

        // An expired key is a missing key to update too: the transform sees nil, and no old expiry is kept.
        try await store.set("stale", value: ByteBuffer(string: "old"), expiresIn: self.shortExpiry)
        try await self.pass(self.shortExpiry * 2)
        let revived = try await store.update("stale") { current in
            #expect(current == nil, "the transform never sees an expired value")
            return .setKeepingExpiry(ByteBuffer(string: "new"))
        }
        #expect(revived == ByteBuffer(string: "new"))
        #expect(try await store.expiry(of: "stale") == .never, "an expired key's expiry is not kept")
        #expect(try await store.get("stale") == ByteBuffer(string: "new"))

        let deleted = try await store.update("doc") { _ in .delete }
        #expect(deleted == nil)
        #expect(try await store.exists("doc") == false)

        try await store.set("kept", value: ByteBuffer(string: "k"))
        await #expect(throws: ConformanceRefusal.self, "a transform's error reaches the caller") {
            try await store.update("kept") { _ in throw ConformanceRefusal() }
        }
        #expect(try await store.get("kept") == ByteBuffer(string: "k"), "a throwing transform leaves the value as it was")
    }

    func checkConcurrentUpdates(_ store: S) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<200 {
                group.addTask {
                    _ = try await store.update("log") { current in
                        var next = current ?? ByteBuffer()
                        next.writeString("\(index),")
                        return .set(next, expiresIn: .seconds(600))
                    }
                }
            }
            try await group.waitForAll()
        }
        let log = try #require(try await store.get("log"))
        let entries = String(buffer: log).split(separator: ",").compactMap { Int($0) }
        #expect(entries.count == 200, "200 concurrent updates leave 200 entries")
        #expect(Set(entries) == Set(0..<200), "no update was lost or applied twice")
    }
}

/// The error a conformance check's transform throws to abandon an update.
struct ConformanceRefusal: Error {}
