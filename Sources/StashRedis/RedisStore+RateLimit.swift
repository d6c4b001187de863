public import Stash

extension RedisStore {
    /// Decides a rate limit in one script on the server, timed by the server's clock: one round trip, atomic across
    /// every client of the server.
    public func rateLimit(_ key: String, rule: RateLimitRule) async throws -> RateLimitDecision {
        try StoreValidation.validateKey(key)
        let algorithm: String
        var burst = 0
        switch rule.algorithm {
        case .fixedWindow: algorithm = "F"
        case .slidingWindow: algorithm = "S"
        case .tokenBucket(let size):
            algorithm = "G"
            burst = size
        }
        let reply = try await self.client.evaluate(
            .rateLimit,
            keys: [self.redisKey(key)],
            arguments: [.string(algorithm), .integer(Int64(rule.limit)), .integer(rule.windowMilliseconds), .integer(Int64(burst))]
        )
        try Self.check(reply, "a rate limit")
        guard case .array(let parts) = reply, parts.count == 5 else {
            throw StoreError(.protocolError, "Redis answered a rate limit with \(reply)")
        }
        var numbers: [Int64] = []
        for part in parts {
            guard case .integer(let number) = part else { throw StoreError(.protocolError, "Redis answered a rate limit with \(reply)") }
            numbers.append(number)
        }
        return RateLimitDecision(
            isAllowed: numbers[0] == 1,
            limit: Int(numbers[1]),
            remaining: Int(numbers[2]),
            resetIn: .microseconds(numbers[3]),
            retryAfter: numbers[4] < 0 ? nil : .microseconds(numbers[4])
        )
    }
}
