/// The limiters a request has passed through so far, in the task handling it: how a ``RateLimiter`` applied twice
/// to one request (a global middleware and the same one again on a route group) sees itself, and warns.
///
/// A task-local value: the middleware of one request run nested, in its task (or, under Vapor's futures, in tasks
/// it starts, which inherit it). Up to four limiters are told apart, held inline, without an allocation.
struct RateLimitChain: Sendable {
    @TaskLocal static var current = RateLimitChain()

    private var limiters: (ObjectIdentifier?, ObjectIdentifier?, ObjectIdentifier?, ObjectIdentifier?) = (nil, nil, nil, nil)

    /// Whether the limiter of `identifier` is in the chain.
    func contains(_ identifier: ObjectIdentifier) -> Bool {
        self.limiters.0 == identifier || self.limiters.1 == identifier || self.limiters.2 == identifier
            || self.limiters.3 == identifier
    }

    /// The chain with the limiter of `identifier` added (unchanged when four are there already).
    func adding(_ identifier: ObjectIdentifier) -> RateLimitChain {
        var chain = self
        if chain.limiters.0 == nil {
            chain.limiters.0 = identifier
        } else if chain.limiters.1 == nil {
            chain.limiters.1 = identifier
        } else if chain.limiters.2 == nil {
            chain.limiters.2 = identifier
        } else if chain.limiters.3 == nil {
            chain.limiters.3 = identifier
        }
        return chain
    }
}
