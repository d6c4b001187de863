public import Stash

/// A named limit and the requests it applies to: global (every request) or per route.
public struct RateLimitPolicy: Sendable {
    /// The name in the `RateLimit-Policy` and `RateLimit` fields, and in the store's keys.
    public let name: String
    /// The limit, window and algorithm.
    public let rule: RateLimitRule
    /// Which requests count against it.
    public let appliesTo: @Sendable (StashRequest) -> Bool

    /// Creates a policy.
    /// - Parameters:
    ///   - name: 1–64 characters of `[A-Za-z0-9_.-]`.
    ///   - rule: The limit, window and algorithm.
    ///   - appliesTo: Which requests it limits; by default, every one.
    /// - Throws: ``StashMiddlewareError/Code/invalidConfiguration`` for an invalid name.
    public init(
        name: String = "default",
        rule: RateLimitRule,
        appliesTo: @escaping @Sendable (StashRequest) -> Bool = { _ in true }
    ) throws(StashMiddlewareError) {
        let valid =
            (1...64).contains(name.utf8.count)
            && name.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                    true
                case UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"):
                    true
                default:
                    false
                }
            }
        guard valid else {
            throw StashMiddlewareError.invalidConfiguration("invalid policy name \(name.debugDescription): use 1-64 of [A-Za-z0-9_.-]")
        }
        self.name = name
        self.rule = rule
        self.appliesTo = appliesTo
    }

    /// A policy for the requests whose path (without query) is one of `paths`.
    public static func route(
        _ paths: Set<String>,
        name: String,
        rule: RateLimitRule
    ) throws(StashMiddlewareError) -> RateLimitPolicy {
        try RateLimitPolicy(name: name, rule: rule) { request in paths.contains(String(request.pathWithoutQuery)) }
    }
}
