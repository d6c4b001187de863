extension StoreURL {
    /// A server's URL taken apart, as the stores that take one read it:
    /// `scheme://[user[:password]@]host[:port][,host[:port]…][/path][?name=value&…]`.
    ///
    /// The authority ends at the first `/` or `?` after the scheme, as ``StoreURL/redactingPassword(_:)`` reads it;
    /// the credentials end at its last `@` (so an unescaped `@` in a password still works, but a `/` or `?` must be
    /// escaped). A host in brackets is an IPv6 address. Credentials, the path and the query are percent-decoded.
    /// What each part means (a database number or name, which parameters exist, the default port) is the store's.
    package struct Components: Sendable, Equatable {
        /// One server of the authority.
        package struct Server: Sendable, Equatable {
            /// The host name or address (an IPv6 address without its brackets); never empty.
            package var host: String
            /// The port, 1 to 65535, when the URL gives one.
            package var port: Int?

            package init(host: String, port: Int?) {
                self.host = host
                self.port = port
            }
        }

        /// The scheme, lowercased.
        package var scheme: String
        /// What comes before the `:` of the credentials (all of them when there is no `:`); `nil` without credentials.
        package var user: String?
        /// What comes after the `:` of the credentials (possibly empty); `nil` when there is no `:`.
        package var password: String?
        /// The servers, in the order given: at least one.
        package var servers: [Server]
        /// The path after its leading `/`; `nil` when there is none, empty for a lone `/`.
        package var path: String?
        /// The query's parameters in order; a parameter without `=` has no value.
        package var parameters: [(name: String, value: String?)]

        package static func == (lhs: Self, rhs: Self) -> Bool {
            lhs.scheme == rhs.scheme && lhs.user == rhs.user && lhs.password == rhs.password && lhs.servers == rhs.servers
                && lhs.path == rhs.path && lhs.parameters.elementsEqual(rhs.parameters) { $0.name == $1.name && $0.value == $1.value }
        }
    }

    /// Why a URL could not be taken apart: a reason for a message that the store prefixes with the URL, its password
    /// hidden.
    package struct Malformed: Error, Sendable, Equatable {
        package var reason: String
    }

    /// Takes a URL apart.
    /// - Throws: ``Malformed`` for a URL without `://`, with a fragment, an empty or unclosed host, a port that is not
    ///   1 to 65535, or a bad percent escape.
    package static func components(of url: String) throws(Malformed) -> Components {
        func malformed(_ reason: String) -> Malformed { Malformed(reason: reason) }
        func decoded(_ text: Substring, _ what: String) throws(Malformed) -> String {
            guard let decoded = Self.percentDecoded(text) else { throw malformed("\(what) is badly escaped or not UTF-8") }
            return decoded
        }
        guard let colon = url.firstIndex(of: ":"), colon > url.startIndex, url[colon...].hasPrefix("://") else {
            throw malformed("it must start with a scheme and ://")
        }
        guard !url.contains("#") else { throw malformed("fragments are not supported") }
        let scheme = url[..<colon].lowercased()
        let rest = url[url.index(colon, offsetBy: 3)...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        var afterAuthority = rest[authorityEnd...]

        var user: String?
        var password: String?
        if let at = authority.lastIndex(of: "@") {
            let credentials = authority[..<at]
            authority = authority[authority.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                user = try decoded(credentials[..<colon], "the user")
                password = try decoded(credentials[credentials.index(after: colon)...], "the password")
            } else {
                user = try decoded(credentials, "the user")
            }
        }

        var servers: [Components.Server] = []
        for server in authority.split(separator: ",", omittingEmptySubsequences: false) {
            servers.append(try Self.server(server))
        }

        var query: Substring?
        if let questionMark = afterAuthority.firstIndex(of: "?") {
            query = afterAuthority[afterAuthority.index(after: questionMark)...]
            afterAuthority = afterAuthority[..<questionMark]
        }
        let path = try afterAuthority.isEmpty ? nil : decoded(afterAuthority.dropFirst(), "the path")
        var parameters: [(name: String, value: String?)] = []
        for parameter in (query ?? "").split(separator: "&", omittingEmptySubsequences: true) {
            if let equals = parameter.firstIndex(of: "=") {
                let name = try decoded(parameter[..<equals], "a parameter's name")
                parameters.append((name, try decoded(parameter[parameter.index(after: equals)...], "parameter \(name)")))
            } else {
                parameters.append((try decoded(parameter, "a parameter's name"), nil))
            }
        }
        return Components(scheme: scheme, user: user, password: password, servers: servers, path: path, parameters: parameters)
    }

    /// One `host[:port]` of an authority.
    private static func server(_ text: Substring) throws(Malformed) -> Components.Server {
        var host: Substring
        var port: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw Malformed(reason: "an IPv6 address lacks its ]") }
            host = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw Malformed(reason: "unexpected text after the IPv6 address") }
                port = after.dropFirst()
            }
        } else if let colon = text.lastIndex(of: ":") {
            host = text[..<colon]
            port = text[text.index(after: colon)...]
        } else {
            host = text
        }
        guard !host.isEmpty else { throw Malformed(reason: "the host is missing") }
        var number: Int?
        if let port {
            guard let value = Int(port), (1...65535).contains(value) else { throw Malformed(reason: "the port must be 1 to 65535") }
            number = value
        }
        return Components.Server(host: String(host), port: number)
    }
}
