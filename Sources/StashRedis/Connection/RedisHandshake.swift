import NIOCore
import Stash

/// What a new connection says first: `HELLO 3` with credentials and a name, falling back to RESP2 (`AUTH`,
/// `CLIENT SETNAME`) when the server refuses RESP3, then `SELECT` for a database other than 0; for a store with a near
/// cache, `CLIENT TRACKING ON` (which needs RESP3: the pushes arrive on the same connection).
struct RedisHandshake {
    let configuration: RedisConfiguration
    let connection: RedisConnection
    /// Whether to turn client-side caching on (the store has a near cache).
    var tracking = false

    private var address: String { self.configuration.address }

    func run() -> EventLoopFuture<Void> {
        var hello: [RESPArgument] = ["HELLO", "3"]
        if let password = self.configuration.password {
            hello += ["AUTH", .string(self.configuration.username ?? "default"), .string(password)]
        }
        if let name = self.configuration.connectionName {
            hello += ["SETNAME", .string(name)]
        }
        return self.connection.send(hello)
            .flatMap { reply in
                guard let message = reply.errorMessage else {
                    guard self.tracking else { return self.connection.channel.eventLoop.makeSucceededVoidFuture() }
                    return self.sequence([["CLIENT", "TRACKING", "ON"]])
                }
                if Self.isAuthenticationError(message) {
                    return self.connection.channel.eventLoop.makeFailedFuture(self.authenticationFailed(message))
                }
                if self.tracking {
                    let refusal = StoreError(
                        .invalidConfiguration,
                        "the near cache needs RESP3 client-side caching (Redis 6 or later, Valkey), which Redis at \(self.address) refused: \(message)"
                    )
                    return self.connection.channel.eventLoop.makeFailedFuture(refusal)
                }
                // NOPROTO, or a server older than HELLO: speak RESP2.
                return self.resp2()
            }
            .flatMap { self.selectDatabase() }
    }

    private func resp2() -> EventLoopFuture<Void> {
        var steps: [[RESPArgument]] = []
        if let password = self.configuration.password {
            steps.append(self.configuration.username.map { ["AUTH", .string($0), .string(password)] } ?? ["AUTH", .string(password)])
        }
        if let name = self.configuration.connectionName {
            steps.append(["CLIENT", "SETNAME", .string(name)])
        }
        return self.sequence(steps)
    }

    private func selectDatabase() -> EventLoopFuture<Void> {
        guard self.configuration.database != 0 else { return self.connection.channel.eventLoop.makeSucceededVoidFuture() }
        return self.sequence([["SELECT", .integer(Int64(self.configuration.database))]])
    }

    /// Sends commands one after another, failing on the first error reply.
    private func sequence(_ commands: [[RESPArgument]]) -> EventLoopFuture<Void> {
        var future = self.connection.channel.eventLoop.makeSucceededVoidFuture()
        for command in commands {
            future = future.flatMap {
                self.connection.send(command).flatMapThrowing { reply in
                    guard let message = reply.errorMessage else { return }
                    if Self.isAuthenticationError(message) { throw self.authenticationFailed(message) }
                    throw StoreError(.serverError, "Redis at \(self.address) refused \(Self.name(of: command)): \(message)")
                }
            }
        }
        return future
    }

    static func isAuthenticationError(_ message: String) -> Bool {
        message.hasPrefix("WRONGPASS") || message.hasPrefix("NOAUTH") || message.hasPrefix("NOPERM")
            || message.contains("invalid password") || message.contains("invalid username-password")
    }

    private func authenticationFailed(_ message: String) -> StoreError {
        StoreError(.authenticationFailed, "Redis at \(self.address) refused the credentials: \(message)")
    }

    private static func name(of command: [RESPArgument]) -> String {
        if case .string(let name) = command.first { return name }
        return "a command"
    }
}
