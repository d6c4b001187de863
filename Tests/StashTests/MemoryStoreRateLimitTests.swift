import NIOCore
import StashTesting
import Testing

@testable import Stash

/// A memory store writes each decision's state over the stored bytes: what a reader holds stays as it read it, and
/// the store's byte count follows the state's length.
@Suite struct MemoryStoreRateLimitTests {
    @Test func aStateHeldByAReaderIsNotChangedByTheNextDecision() async throws {
        let clock = ManualClock()
        let store = MemoryStore(clock: clock)
        let rule = try RateLimitRule(limit: 1_000, per: .seconds(60))
        _ = try await store.rateLimit("client", rule: rule)
        let held = try #require(try await store.get("client"))
        let text = String(buffer: held)
        #expect(text.hasPrefix("F ") && text.hasSuffix(" 1"))
        for _ in 0..<3 { _ = try await store.rateLimit("client", rule: rule) }
        #expect(String(buffer: held) == text, "the reader's bytes are its own")
        #expect(try await store.get("client").map { String(buffer: $0) } == String(text.dropLast()) + "4")
    }

    @Test func theByteCountFollowsTheRewrittenState() async throws {
        let clock = ManualClock()
        let store = try MemoryStore(clock: clock, configuration: .init(maximumBytes: 10_000))
        let rule = try RateLimitRule(limit: 100_000, per: .seconds(60))
        for _ in 0..<1_234 { _ = try await store.rateLimit("client", rule: rule) }
        let stored = try #require(try await store.get("client"))
        #expect(String(buffer: stored).hasSuffix(" 1234"))
        let bytes = store.storage.state.withLock { $0.bytes }
        #expect(bytes == "client".utf8.count + stored.readableBytes, "each rewrite moved the count by the length's change")
        try await store.delete("client")
        #expect(store.storage.state.withLock { $0.bytes } == 0)
    }
}
