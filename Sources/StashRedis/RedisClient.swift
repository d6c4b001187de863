import NIOCore
import Stash

/// What every namespace of a ``RedisStore`` shares: the configuration and the connection pool, and the commands
/// the store is built from, with error replies turned into ``Stash/StoreError``s.
final class RedisClient: Sendable {
    let configuration: RedisConfiguration
    let pool: RedisConnectionPool
    /// The owner of the service (the pool) the store and its namespaces share.
    let serviceOwner: StoreService.Owner

    init(configuration: RedisConfiguration) throws {
        self.configuration = configuration
        self.pool = try RedisConnectionPool(configuration: configuration)
        self.serviceOwner = StoreService.Owner("the RedisStore of \(configuration.address)")
    }

    /// Sends a command; an error reply throws ``Stash/StoreError/Code/serverError`` with the server's message.
    func send(_ arguments: [RESPArgument]) async throws -> RESPValue {
        let reply = try await self.pool.send(arguments)
        if let message = reply.errorMessage {
            throw StoreError(.serverError, "Redis answered \(Self.name(of: arguments)) with an error: \(message)")
        }
        return reply
    }

    /// Runs a script by `EVALSHA`; on `NOSCRIPT` (a restarted or flushed server) by `EVAL`, which loads it again.
    /// - Returns: The reply; an error reply is returned as a value, for the caller to interpret.
    func evaluate(_ script: RedisScript, keys: [RESPArgument], arguments: [RESPArgument]) async throws -> RESPValue {
        let tail = [.integer(Int64(keys.count))] + keys + arguments
        let reply = try await self.pool.send(["EVALSHA", .string(script.sha1)] + tail)
        if let message = reply.errorMessage, message.hasPrefix("NOSCRIPT") {
            return try await self.pool.send(["EVAL", .string(script.source)] + tail)
        }
        return reply
    }

    private static func name(of arguments: [RESPArgument]) -> String {
        if case .string(let name) = arguments.first { return name }
        return "a command"
    }
}
