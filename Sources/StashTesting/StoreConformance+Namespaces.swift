import NIOCore
import Stash
import Testing

extension StoreConformance {
    func checkNamespaces(_ root: S) async throws {
        let a = try root.withNamespace("a")
        let ab = try root.withNamespace("ab")
        let upperA = try root.withNamespace("A")
        let child = try a.withNamespace("child")
        // Siblings a pattern language would confuse: `_` matches any character in SQL LIKE, `*` in Redis MATCH.
        let underscore = try root.withNamespace("a_b")
        let letter = try root.withNamespace("aXb")
        let stores = [("root", root), ("a", a), ("ab", ab), ("A", upperA), ("a/child", child), ("a_b", underscore), ("aXb", letter)]

        // Each namespace holds the shared key "k" and a key of its own, so that a leak shows in every listing.
        for (name, store) in stores {
            try await store.set("k", value: ByteBuffer(string: name))
            try await store.set("only in \(name)", value: ByteBuffer(string: name))
        }
        // Keys in a parent shaped like whatever a backend might use to address a child's key.
        let lookalikes = ["a:k", "a/k", "a.ns/k", "a\u{0}k", "ak", "a", "a:child:k", "a/child/k", "stash:a:k", "{a}k"]
        for key in lookalikes {
            try await root.set(key, value: ByteBuffer(string: "root \(key)"))
        }
        for (name, store) in stores {
            #expect(try await store.get("k") == ByteBuffer(string: name), "namespace \(name) reads its own value")
            let expected = ["k", "only in \(name)"] + (name == "root" ? lookalikes : [])
            #expect(
                try await store.keys().collect().sorted() == expected.sorted(),
                "namespace \(name) lists exactly its own keys: not its parent's, children's or siblings'"
            )
        }
        #expect(try await root.withNamespace("a").get("k") == ByteBuffer(string: "a"), "a namespace opened twice shares its data")

        try await a.deleteAll()
        #expect(try await a.get("k") == nil, "deleteAll removes the namespace's keys")
        #expect(try await child.get("k") == nil, "deleteAll removes the children's keys")
        for (name, store) in [("ab", ab), ("A", upperA), ("a_b", underscore), ("aXb", letter)] {
            #expect(try await store.get("k") == ByteBuffer(string: name), "deleteAll on a must not touch its sibling \(name)")
        }
        #expect(try await root.get("k") == ByteBuffer(string: "root"), "deleteAll on a child must not touch its parent")
        for key in lookalikes {
            #expect(try await root.get(key) == ByteBuffer(string: "root \(key)"), "the parent's key \(key.debugDescription) survives")
        }
        try await underscore.deleteAll()
        #expect(try await letter.get("k") == ByteBuffer(string: "aXb"), "deleteAll on a_b must not touch aXb")

        try await a.set("again", value: ByteBuffer(string: "x"))
        #expect(try await a.get("again") == ByteBuffer(string: "x"), "a cleared namespace is usable again")
        try await child.deleteAll()
        #expect(try await a.get("again") == ByteBuffer(string: "x"), "deleteAll on a child leaves its parent")

        try await root.deleteAll()
        for (name, store) in stores {
            #expect(try await store.get("k") == nil, "deleteAll on the root removes \(name)'s keys")
            #expect(try await store.keys().collect().isEmpty)
        }
        #expect(try await a.get("again") == nil)

        for name in ["response_cache", "rate_limit", "sessions", "A-9_z", String(repeating: "n", count: StoreLimits.maximumNamespaceLength)] {
            let store = try root.withNamespace(name)
            try await store.set("k", value: ByteBuffer(string: name))
            #expect(try await store.get("k") == ByteBuffer(string: name), "namespace name \(name) is valid")
        }
    }

    func checkKeyListing(_ store: S) async throws {
        // More keys than one page of any built-in backend.
        let users = (0..<300).map { "user:\($0)" }
        let others = ["session:1", "session:2", "u", "user"]
        for key in users + others {
            try await store.set(key, value: ByteBuffer(string: key))
        }
        try await store.set("user:expiring", value: ByteBuffer(string: "e"), expiresIn: self.shortExpiry)
        try await store.withNamespace("user").set("user:child", value: ByteBuffer(string: "c"))

        try await self.pass(self.shortExpiry * 2)
        let all = try await store.keys().collect()
        #expect(all.count == users.count + others.count, "each key is listed once")
        #expect(Set(all) == Set(users + others), "listing returns every live key of the namespace and nothing else")
        #expect(Set(try await store.keys(withPrefix: "user:").collect()) == Set(users))
        #expect(Set(try await store.keys(withPrefix: "session:").collect()) == ["session:1", "session:2"])
        #expect(try await store.keys(withPrefix: "nothing").collect().isEmpty)

        // Prefixes are literal text, never patterns (SQL LIKE's `%` and `_`, Redis MATCH's `*`, `?` and `[`).
        let literal = ["50%", "50%off", "5_0", "5x0", "*star", "?mark", "[set]", "s", "\\slash"]
        for key in literal {
            try await store.set(key, value: ByteBuffer(string: key))
        }
        for (prefix, expected) in [
            ("50%", ["50%", "50%off"]), ("5_", ["5_0"]), ("*", ["*star"]), ("?", ["?mark"]), ("[", ["[set]"]), ("\\", ["\\slash"]),
        ] {
            #expect(try await store.keys(withPrefix: prefix).collect().sorted() == expected, "prefix \(prefix.debugDescription) is literal")
        }

        // Lazy: a consumer may stop early.
        var seen = 0
        for try await _ in store.keys() {
            seen += 1
            if seen == 10 { break }
        }
        #expect(seen == 10)
    }
}
