public import Stash

extension RedisStore {
    /// Decides a rate limit in one script on the server, timed by the server's clock: one round trip, atomic across
    /// every client of the server.
    public func rateLimit(_ key: String, rule: RateLimitRule) async throws -> RateLimitDecision {
        try StoreValidation.validateKey(key)
        let arguments = rule.serverArguments
        let reply = try await self.writing(key) {
            try await self.client.evaluate(
                .rateLimit,
                keys: [self.redisKey(key)],
                arguments: [
                    .string(arguments.algorithm), .integer(arguments.limit), .integer(arguments.windowMilliseconds), .integer(arguments.burst),
                ]
            )
        }
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
            server: numbers[0] == 1,
            limit: numbers[1],
            remaining: numbers[2],
            resetInMicroseconds: numbers[3],
            retryAfterMicroseconds: numbers[4]
        )
    }
}
