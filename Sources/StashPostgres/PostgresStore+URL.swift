import Stash

extension PostgresStore.Connection {
    /// Creates a connection setting from a URL, as libpq writes them:
    /// `postgres://user[:password]@host[:port][/database][?sslmode=…&connect_timeout=…]`.
    ///
    /// The scheme may also be `postgresql`. The user, the password and the database are percent-decoded; the host
    /// may be an IPv6 address in brackets; the port defaults to 5432 and the database to the user's name. Two query
    /// parameters are understood: `sslmode` (`disable`, the default, `prefer`, or `require`, which here also verifies
    /// the server's certificate; `verify-ca` and `verify-full` mean the same), and `connect_timeout` in seconds.
    /// - Throws: ``/Stash/StoreError/Code/invalidConfiguration`` for anything else: another scheme, no user or host, a bad
    ///   port, an unknown parameter, a fragment, a bad percent escape. The message never repeats the password.
    public init(url: String) throws {
        let redacted = StoreURL.redactingPassword(url)
        func invalid(_ reason: String) -> StoreError {
            StoreError(.invalidConfiguration, "invalid PostgreSQL URL \(redacted.debugDescription): \(reason)")
        }
        let components: StoreURL.Components
        do {
            components = try StoreURL.components(of: url)
        } catch {
            throw invalid(error.reason)
        }
        guard components.scheme == "postgres" || components.scheme == "postgresql" else {
            throw invalid("it must start with postgres:// or postgresql://")
        }
        guard let username = components.user, !username.isEmpty else {
            throw invalid("it must name a user, as in postgres://user@host/database")
        }
        guard components.servers.count == 1, let server = components.servers.first else { throw invalid("it must name one server") }
        var database: String?
        if let path = components.path, !path.isEmpty {
            guard !path.contains("/") else { throw invalid("the database name holds a /") }
            database = path
        }

        self.init(host: server.host, port: server.port ?? 5432, username: username, password: components.password, database: database)
        for (name, value) in components.parameters {
            switch (name, value) {
            case ("sslmode", "disable"?), ("sslmode", "allow"?):
                self.tls = .disable
            case ("sslmode", "prefer"?):
                self.tls = .prefer()
            case ("sslmode", "require"?), ("sslmode", "verify-ca"?), ("sslmode", "verify-full"?):
                self.tls = .require()
            case ("connect_timeout", let seconds?):
                guard let seconds = Int(seconds), seconds > 0 else { throw invalid("connect_timeout must be a positive number of seconds") }
                self.connectTimeout = .seconds(seconds)
            default:
                throw invalid("unsupported parameter \(name.debugDescription); only sslmode and connect_timeout are understood")
            }
        }
    }
}
