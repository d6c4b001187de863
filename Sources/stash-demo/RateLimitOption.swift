import ArgumentParser
import Stash

/// The `--rate-limit` option: `N/unit`, a positive whole number of requests per second, minute, hour or day.
struct RateLimitOption: Equatable, CustomStringConvertible {
    /// Requests admitted per window.
    let limit: Int
    /// The unit's name as given.
    let unit: String
    /// The window.
    let window: Duration

    /// The default, `10/minute`.
    static let standard = RateLimitOption(limit: 10, unit: "minute", window: .seconds(60))

    private static let units: [String: Duration] = [
        "second": .seconds(1), "minute": .seconds(60), "hour": .seconds(3600), "day": .seconds(86_400),
    ]

    private init(limit: Int, unit: String, window: Duration) {
        self.limit = limit
        self.unit = unit
        self.window = window
    }

    /// Parses `N/unit` strictly: digits only (no sign, no spaces), a unit from the list, nothing else.
    init(parsing text: String) throws(ValidationError) {
        let usage = "--rate-limit must be N/second, N/minute, N/hour or N/day with N a positive whole number, not '\(text)'"
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
            let limit = Int(parts[0]), limit > 0, limit <= RateLimitRule.maximumLimit, let window = Self.units[String(parts[1])]
        else { throw ValidationError(usage) }
        self.limit = limit
        self.unit = String(parts[1])
        self.window = window
    }

    var description: String { "\(self.limit)/\(self.unit)" }

    /// The store-level rule: a fixed window, as the option reads.
    func rule() throws -> RateLimitRule {
        try RateLimitRule(limit: self.limit, per: self.window)
    }
}
