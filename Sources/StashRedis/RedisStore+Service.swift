public import ServiceLifecycle

extension RedisStore: Service {
    /// Runs the connection pool every namespace of this store shares: opens its minimum connections, and at graceful
    /// shutdown refuses new commands, lets the ones in flight get their replies (within the command timeout), closes
    /// every connection and returns. Running several namespaces of one store runs the pool once.
    public func run() async throws {
        try await self.client.pool.run()
    }
}
