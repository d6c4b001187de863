package import Stash
import Testing

/// Checks that two instances of a store on the same storage (two clients of one server, two handles of one table)
/// share what the rate-limit operations leave: weighted requests from both admit exactly the limit between them, and
/// a block or a penalty made through one refuses through the other.
package struct RateLimitSharing: Sendable {
    let first: any Store
    let second: any Store

    /// Creates the check on two empty namespaces of the same storage.
    package init(_ first: any Store, _ second: any Store) {
        self.first = first
        self.second = second
    }

    /// Runs the check for one algorithm with a limit of 30 a day.
    package func run(_ algorithm: RateLimitRule.Algorithm) async throws {
        let rule = try RateLimitRule(limit: 30, per: .seconds(86_400), algorithm: algorithm)
        let (first, second) = (self.first, self.second)
        let admitted = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<100 {
                let store = index.isMultiple(of: 2) ? first : second
                group.addTask { try await store.rateLimit("weighted", rule: rule, .consume(3)).isAllowed ? 1 : 0 }
            }
            return try await group.reduce(0, +)
        }
        #expect(admitted == 10, "\(algorithm): 100 requests of 3 through two instances against 30 admit 10, not \(admitted)")

        #expect(try await first.rateLimit("penalized", rule: rule, .consume(10)).isAllowed)
        _ = try await second.rateLimit("penalized", rule: rule, .adjust(by: 15))
        let left = try await first.rateLimit("penalized", rule: rule, .consume(6))
        #expect(!left.isAllowed, "\(algorithm): the other instance's penalty counts")
        #expect(try await first.rateLimit("penalized", rule: rule, .consume(5)).isAllowed)

        _ = try await first.rateLimit("blocked", rule: rule, .block(for: .seconds(600)))
        let blocked = try await second.rateLimit("blocked", rule: rule)
        #expect(!blocked.isAllowed && (blocked.retryAfter ?? .zero) > .seconds(590), "\(algorithm): the other instance's block refuses")
    }
}
