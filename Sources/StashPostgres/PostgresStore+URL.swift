import Stash

extension PostgresStore.Connection {
    /// Creates a connection setting from a URL, as libpq writes them:
    /// `postgres://user[:password]@host[:port][/database][?sslmode=…&connect_timeout=…]`.
    ///
    /// The scheme may also be `postgresql`. The user, the password and the database are percent-decoded; the host
    /// may be an IPv6 address in brackets; the port defaults to 5432 and the database to the user's name. Two query
    /// parameters are understood: `sslmode` (`disable`, the default, `prefer`, or `require`, which here also verifies
    /// the server's certificate; `verify-ca` and `verify-full` mean the same), and `connect_timeout` in seconds.
    /// - Throws: ``StoreError/Code/invalidConfiguration`` for anything else: another scheme, no user or host, a bad
    ///   port, an unknown parameter, a fragment, a bad percent escape. The message never repeats the password.
    public init(url: String) throws {
        let redacted = StoreURL.redactingPassword(url)
        func invalid(_ reason: String) -> StoreError {
            StoreError(.invalidConfiguration, "invalid PostgreSQL URL \(redacted.debugDescription): \(reason)")
        }
        let rest: Substring
        if url.hasPrefix("postgres://") {
            rest = url.dropFirst("postgres://".count)
        } else if url.hasPrefix("postgresql://") {
            rest = url.dropFirst("postgresql://".count)
        } else {
            throw invalid("it must start with postgres:// or postgresql://")
        }
        guard !rest.contains("#") else { throw invalid("fragments are not supported") }

        let (beforeQuery, query) = Self.split(rest, at: "?")
        let (authority, path) = Self.split(beforeQuery, at: "/")
        guard let at = authority.lastIndex(of: "@") else { throw invalid("it must name a user, as in postgres://user@host/database") }
        let (user, password) = Self.split(authority[..<at], at: ":")
        let hostAndPort = authority[authority.index(after: at)...]

        guard let username = StoreURL.percentDecoded(user), !username.isEmpty else { throw invalid("the user name is empty or badly escaped") }
        var decodedPassword: String?
        if let password {
            guard let decoded = StoreURL.percentDecoded(password) else { throw invalid("the password is badly escaped") }
            decodedPassword = decoded
        }

        var host: Substring
        var port: Substring?
        if hostAndPort.hasPrefix("[") {
            guard let close = hostAndPort.firstIndex(of: "]") else { throw invalid("an IPv6 address must end with ]") }
            host = hostAndPort[hostAndPort.index(after: hostAndPort.startIndex)..<close]
            let after = hostAndPort[hostAndPort.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw invalid("unexpected text after the IPv6 address") }
                port = after.dropFirst()
            }
        } else {
            (host, port) = Self.split(hostAndPort, at: ":")
        }
        guard !host.isEmpty else { throw invalid("the host is empty") }
        var portNumber = 5432
        if let port {
            guard let number = Int(port), (1...65535).contains(number) else { throw invalid("the port must be a number from 1 to 65535") }
            portNumber = number
        }

        var database: String?
        if let path, !path.isEmpty {
            guard let decoded = StoreURL.percentDecoded(path), !decoded.contains("/") else { throw invalid("the database name is badly escaped") }
            database = decoded
        }

        self.init(host: String(host), port: portNumber, username: username, password: decodedPassword, database: database)
        for parameter in (query ?? "").split(separator: "&", omittingEmptySubsequences: true) {
            let (name, value) = Self.split(parameter, at: "=")
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
                throw invalid("unsupported parameter \(String(name).debugDescription); only sslmode and connect_timeout are understood")
            }
        }
    }

    /// Splits at the first separator; the second part is `nil` when there is none.
    private static func split(_ text: Substring, at separator: Character) -> (Substring, Substring?) {
        guard let index = text.firstIndex(of: separator) else { return (text, nil) }
        return (text[..<index], text[text.index(after: index)...])
    }
}
