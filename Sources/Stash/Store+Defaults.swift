public import NIOCore

extension Store {
    /// The type's name (`DynamoStore`), for a store that does not name its kind for traces.
    public var traceSystemName: String {
        String(describing: Self.self)
    }

    /// Stores a value that never expires, replacing any value and expiry the key had.
    public func set(_ key: String, value: ByteBuffer) async throws {
        try await self.set(key, value: value, expiresIn: nil)
    }

    /// Stores a value that never expires, only when the key is missing or has expired.
    /// - Returns: `true` when the value was stored, `false` when a live value already existed.
    public func insert(_ key: String, value: ByteBuffer) async throws -> Bool {
        try await self.insert(key, value: value, expiresIn: nil)
    }

    /// Stores a value only when the key is missing or has expired, throwing when it exists (Hummingbird's `create`).
    /// - Throws: ``StoreError/Code/alreadyExists`` when a live value exists for the key.
    public func create(_ key: String, value: ByteBuffer, expiresIn: Duration? = nil) async throws {
        guard try await self.insert(key, value: value, expiresIn: expiresIn) else {
            throw StoreError.alreadyExists(key: key)
        }
    }

    /// Adds to an integer counter atomically, creating it from zero when missing or expired.
    /// - Returns: The counter's value after the increment.
    @discardableResult
    public func increment(_ key: String, by amount: Int64 = 1, expiresIn: Duration? = nil) async throws -> Int64 {
        try await self.increment(key, by: amount, initialValue: 0, expiresIn: expiresIn)
    }

    /// Reads a record's fields without touching its expiry: ``record(_:renewingFor:)`` with no renewal.
    /// - Returns: The record's fields, or `nil` when it is missing or expired.
    public func record(_ key: String) async throws -> [String: ByteBuffer]? {
        try await self.record(key, renewingFor: nil)
    }

    /// Lists every live key of this namespace (not of its children), lazily.
    public func keys() -> StoreKeys {
        self.keys(withPrefix: "")
    }
}

extension Store {
    /// Decides one request of cost 1: ``rateLimit(_:rule:_:)`` with ``RateLimitOperation/consume``.
    public func rateLimit(_ key: String, rule: RateLimitRule) async throws -> RateLimitDecision {
        try await self.rateLimit(key, rule: rule, .consume)
    }

    /// Decides a rate limit inside ``update(_:_:)``, timed by the system's wall clock: atomic wherever `update` is.
    /// The built-in stores replace it with one step of their own (under their lock, in one script or statement).
    public func rateLimit(_ key: String, rule: RateLimitRule, _ operation: RateLimitOperation) async throws -> RateLimitDecision {
        try rule.validate(operation)
        let decision = Locked<RateLimitDecision?>(nil)
        _ = try await self.update(key) { state in
            // `update` may run this more than once; the last run is the one that counted.
            let step = rule.decide(state: state, now: WallClock().now.sinceEpoch, operation: operation)
            decision.withLock { $0 = step.decision }
            guard let newState = step.newState else { return .unchanged }
            return .set(newState, expiresIn: step.expiresIn)
        }
        guard let decided = decision.withLock({ $0 }) else {
            throw StoreError(.ioFailure, "the store's update did not run the rate limit's transform")
        }
        return decided
    }
}
