public import HTTPTypes
public import Stash

/// A named limit and the requests it applies to: global (every request) or per route; what each request costs, which
/// limit applies to it (by API plan, say), and which responses count.
///
/// ```swift
/// // Uploads cost a point per started megabyte; paying clients get ten times the limit.
/// let uploads = try RateLimitPolicy(
///     name: "uploads",
///     rule: free,
///     appliesTo: { $0.head.method == .post },
///     cost: { request in 1 + (Int(request.head.headerFields[.contentLength] ?? "") ?? 0) / 1_000_000 },
///     selectRule: { request in request.head.headerFields[.authorization]?.hasPrefix("Bearer pro_") == true ? pro : nil }
/// )
/// // Only failed logins count: five an hour, then blocked for a day.
/// let logins = try RateLimitPolicy(
///     name: "login",
///     rule: RateLimitRule(limit: 5, per: .seconds(3600), blockingFor: .seconds(86_400)),
///     appliesTo: { $0.pathWithoutQuery == "/login" },
///     counting: .onlyFailures
/// )
/// ```
public struct RateLimitPolicy: Sendable {
    /// Which requests count against a policy once their response is known (express-rate-limit's
    /// `skipSuccessfulRequests` and `skipFailedRequests`).
    ///
    /// The decision is made before the handler runs, counting the request; when its response turns out not to count,
    /// what it counted is refunded (``/Stash/RateLimitOperation/refund(_:)``) in one more atomic store step. A handler
    /// that throws counts as a failure.
    public enum Counting: Sendable {
        /// Every admitted request counts.
        case all
        /// Only failures count (a status of 400 or more, or a handler that throws): the login brute-force case.
        case onlyFailures
        /// Only successes count (a status below 400).
        case onlySuccesses
        /// Only responses for which this returns `true` count (a handler that throws always counts).
        case when(@Sendable (HTTPResponse) -> Bool)

        /// Whether a response, or a handler that threw (`nil`), counts.
        func counts(_ response: HTTPResponse?) -> Bool {
            switch self {
            case .all: true
            case .onlyFailures: response.map { $0.status.code >= 400 } ?? true
            case .onlySuccesses: response.map { $0.status.code < 400 } ?? false
            case .when(let predicate): response.map(predicate) ?? true
            }
        }
    }

    /// The name in the `RateLimit-Policy` and `RateLimit` fields, and in the store's keys.
    public let name: String
    /// The limit, window and algorithm; the one every request gets unless ``selectRule`` picks another.
    public let rule: RateLimitRule
    /// Which requests count against it.
    public let appliesTo: @Sendable (StashRequest) -> Bool
    /// What a request costs (rate-limiter-flexible's `consume(key, points)`); `nil` for 1 each. A cost below 1 leaves
    /// the request out of the policy; one above the rule's ``/Stash/RateLimitRule/maximumCost`` could never be admitted
    /// and is refused without a store round trip.
    public let cost: (@Sendable (StashRequest) -> Int)?
    /// The rule for a request, or `nil` for ``rule`` (express-rate-limit's `limit: (req) => n`). Rules of one
    /// algorithm share the client's count: a client moved to a bigger plan keeps what it has used.
    public let selectRule: (@Sendable (StashRequest) -> RateLimitRule?)?
    /// Which responses count.
    public let counting: Counting

    /// Creates a policy.
    /// - Parameters:
    ///   - name: 1–64 characters of `[A-Za-z0-9_.-]`.
    ///   - rule: The limit, window and algorithm.
    ///   - appliesTo: Which requests it limits; by default, every one.
    ///   - cost: What a request costs; by default 1.
    ///   - selectRule: The rule for a request, `nil` for `rule`; by default `rule` for every request.
    ///   - counting: Which responses count; by default all.
    /// - Throws: ``StashMiddlewareError/Code/invalidConfiguration`` for an invalid name.
    public init(
        name: String = "default",
        rule: RateLimitRule,
        appliesTo: @escaping @Sendable (StashRequest) -> Bool = { _ in true },
        cost: (@Sendable (StashRequest) -> Int)? = nil,
        selectRule: (@Sendable (StashRequest) -> RateLimitRule?)? = nil,
        counting: Counting = .all
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
        self.cost = cost
        self.selectRule = selectRule
        self.counting = counting
    }

    /// The rule a request is decided by.
    public func rule(for request: StashRequest) -> RateLimitRule {
        self.selectRule?(request) ?? self.rule
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
