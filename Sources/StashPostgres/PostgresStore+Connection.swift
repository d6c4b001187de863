public import PostgresNIO
import Stash

extension PostgresStore {
    /// Where a store that makes its own connection pool connects, and how.
    public struct Connection: Sendable {
        /// The server's host name or address.
        public var host: String
        /// The server's port.
        public var port: Int
        /// The role to connect as.
        public var username: String
        /// The password, or `nil` when the server asks for none (trust or peer authentication).
        public var password: String?
        /// The database, or `nil` for the one named like the role.
        public var database: String?
        /// Whether to encrypt the connection; off by default, as suits a server on the same host or network.
        public var tls: TLS
        /// How long opening a connection may take.
        public var connectTimeout: Duration
        /// The most connections the pool opens; each runs one statement (or one transaction) at a time.
        public var maximumConnections: Int

        /// Creates a connection setting.
        /// - Parameters:
        ///   - host: The server's host name or address.
        ///   - port: The server's port.
        ///   - username: The role to connect as.
        ///   - password: The password, if the server asks for one.
        ///   - database: The database; by default the one named like the role.
        ///   - tls: Whether to use TLS; by default not.
        ///   - connectTimeout: How long opening a connection may take.
        ///   - maximumConnections: The most connections the pool opens.
        public init(
            host: String = "127.0.0.1",
            port: Int = 5432,
            username: String,
            password: String? = nil,
            database: String? = nil,
            tls: TLS = .disable,
            connectTimeout: Duration = .seconds(5),
            maximumConnections: Int = 20
        ) {
            self.host = host
            self.port = port
            self.username = username
            self.password = password
            self.database = database
            self.tls = tls
            self.connectTimeout = connectTimeout
            self.maximumConnections = maximumConnections
        }

        /// Whether a store encrypts its connections.
        public struct TLS: Sendable {
            enum Mode: Sendable {
                case disable
                case prefer
                case require
            }

            let mode: Mode
            let configuration: TLSConfiguration

            /// Plain connections, never TLS.
            public static let disable = Self(mode: .disable, configuration: .makeClientConfiguration())

            /// TLS when the server offers it, a plain connection when it does not.
            public static func prefer(_ configuration: TLSConfiguration = .makeClientConfiguration()) -> Self {
                Self(mode: .prefer, configuration: configuration)
            }

            /// TLS or no connection. By default the server's certificate must be valid for its host name.
            public static func require(_ configuration: TLSConfiguration = .makeClientConfiguration()) -> Self {
                Self(mode: .require, configuration: configuration)
            }
        }

        /// Checks the settings a URL cannot have made wrong.
        /// - Throws: ``/Stash/StoreError/Code/invalidConfiguration``.
        func validate() throws(StoreError) {
            func invalid(_ reason: String) -> StoreError {
                StoreError(.invalidConfiguration, "invalid PostgreSQL connection: \(reason)")
            }
            guard !self.host.isEmpty else { throw invalid("the host is empty") }
            guard (1...65535).contains(self.port) else { throw invalid("port \(self.port) is not between 1 and 65535") }
            guard !self.username.isEmpty else { throw invalid("the user name is empty") }
            guard self.connectTimeout > .zero else { throw invalid("connectTimeout must be positive") }
            guard self.maximumConnections > 0 else { throw invalid("maximumConnections must be positive") }
        }

        /// The configuration of the store's `PostgresClient`.
        var clientConfiguration: PostgresClient.Configuration {
            let tls: PostgresClient.Configuration.TLS
            switch self.tls.mode {
            case .disable: tls = .disable
            case .prefer: tls = .prefer(self.tls.configuration)
            case .require: tls = .require(self.tls.configuration)
            }
            var configuration = PostgresClient.Configuration(
                host: self.host,
                port: self.port,
                username: self.username,
                password: self.password,
                database: self.database,
                tls: tls
            )
            configuration.options.connectTimeout = self.connectTimeout
            configuration.options.maximumConnections = self.maximumConnections
            return configuration
        }

        /// The configuration of a single connection to the same server, with a connect timeout of its own.
        /// - Throws: When the TLS configuration cannot make a context.
        func connectionConfiguration(connectTimeout: Duration) throws -> PostgresConnection.Configuration {
            let tls: PostgresConnection.Configuration.TLS
            switch self.tls.mode {
            case .disable: tls = .disable
            case .prefer: tls = try .prefer(NIOSSLContext(configuration: self.tls.configuration))
            case .require: tls = try .require(NIOSSLContext(configuration: self.tls.configuration))
            }
            var configuration = PostgresConnection.Configuration(
                host: self.host,
                port: self.port,
                username: self.username,
                password: self.password,
                database: self.database,
                tls: tls
            )
            configuration.options.connectTimeout = TimeAmount(connectTimeout)
            return configuration
        }
    }
}
