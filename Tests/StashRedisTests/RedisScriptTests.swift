import Testing

@testable import StashRedis

@Suite struct RedisScriptTests {
    static let scripts: [(String, RedisScript)] = [
        ("getRenewing", .getRenewing), ("increment", .increment), ("compareAndSet", .compareAndSet), ("rateLimit", .rateLimit),
    ]

    /// A script the store names wrongly would never run by `EVALSHA`: every call would pay a `NOSCRIPT` round trip
    /// and send the whole script again.
    @Test func eachScriptIsNamedAsTheServerNamesIt() async throws {
        for (name, script) in Self.scripts {
            let loaded = try await RedisTestServer.cli(["SCRIPT", "LOAD", script.source])
            #expect(loaded == script.sha1, "\(name)")
        }
    }

    @Test func theNameIsTheSHA1OfTheSource() {
        #expect(RedisScript("abc").sha1 == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(RedisScript("").sha1 == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
    }
}
