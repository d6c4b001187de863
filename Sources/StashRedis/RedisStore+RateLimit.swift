public import Stash

extension RedisStore {
    /// Decides a rate limit (or adjusts, refunds or blocks) in one script on the server, timed by the server's clock:
    /// one round trip, atomic across every client of the server.
    public func rateLimit(_ key: String, rule: RateLimitRule, _ operation: RateLimitOperation) async throws -> RateLimitDecision {
        try StoreValidation.validateKey(key)
        try rule.validate(operation)
        let arguments = rule.serverArguments
        let action = operation.serverArguments
        let reply = try await self.writing(key) {
            try await self.client.evaluate(
                .rateLimit,
                keys: [self.redisKey(key)],
                arguments: [
                    .string(arguments.algorithm), .integer(arguments.limit), .integer(arguments.windowMilliseconds), .integer(arguments.burst),
                    .integer(rule.blockMilliseconds), .string(action.operation), .integer(action.amount), .integer(action.window),
                ]
            )
        }
        try Self.check(reply, "a rate limit")
        guard case .array(let parts) = reply, parts.count == 6 else {
            throw StoreError(.protocolError, "Redis answered a rate limit with \(reply)")
        }
        var numbers: [Int64] = []
        numbers.reserveCapacity(6)
        for part in parts {
            guard case .integer(let number) = part else { throw StoreError(.protocolError, "Redis answered a rate limit with \(reply)") }
            numbers.append(number)
        }
        return RateLimitDecision(
            server: numbers[0] == 1,
            limit: numbers[1],
            remaining: numbers[2],
            resetInMicroseconds: numbers[3],
            retryAfterMicroseconds: numbers[4],
            windowStart: numbers[5],
            operation: operation
        )
    }
}
