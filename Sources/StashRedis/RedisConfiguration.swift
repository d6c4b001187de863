import Stash

/// Where a ``RedisStore`` connects and how: server, credentials, database, timeouts, pool size, key prefix.
public struct RedisConfiguration: Sendable {
    /// The server's host name or address.
    public var host: String
    /// The server's port.
    public var port: Int
    /// The ACL user to authenticate as, or `nil` for the default user.
    public var username: String?
    /// The password, or `nil` when the server requires none.
    public var password: String?
    /// The database number selected on every connection.
    public var database: Int
    /// The name each connection gives itself (`CLIENT SETNAME`), shown by `CLIENT LIST`.
    public var connectionName: String?
    /// How long a command may wait for its reply before it fails with ``/Stash/StoreError/Code/timedOut``.
    public var commandTimeout: Duration
    /// How long connecting (and the handshake) may take.
    public var connectTimeout: Duration
    /// Connections opened when the pool starts running, and kept open (on a cluster, at most as many per primary as
    /// ``maximumConnections`` allows it).
    public var minimumConnections: Int
    /// The most connections the pool opens; concurrent commands share them, pipelined.
    ///
    /// On a cluster they are shared out among the primaries: each primary gets at most `maximumConnections` divided
    /// by the number of primaries, and at least one. Commands pipelined on fewer connections leave in larger
    /// batches: with 3 primaries, one connection each ran 64 concurrent tasks about 1.5 times as fast as four each.
    public var maximumConnections: Int
    /// The first wait before reconnecting after a failed connection attempt; it doubles on each failure.
    public var reconnectDelay: Duration
    /// The longest wait between reconnection attempts.
    public var maximumReconnectDelay: Duration
    /// The prefix of every key the store writes (a namespace name), so it never touches keys it did not write.
    public var keyPrefix: String
    /// The seed nodes of a Redis Cluster, or `nil` for one server (``host`` and ``port``). With seeds, the store reads
    /// the cluster's topology from the first that answers and sends each command to the primary that serves its
    /// key; ``database`` must be 0.
    public var cluster: [RedisNodeAddress]?
    /// TLS for every connection, or `nil` for plain text: a `rediss://` URL turns it on, verifying the server's
    /// certificate and name against the system's trust roots unless told otherwise.
    public var tls: RedisTLS?
    /// Values read kept in process memory and served from there, coherent through RESP3 client-side caching (see
    /// ``RedisNearCache``); `nil`, the default, for none. Needs Redis 6 or later (or Valkey).
    public var nearCache: RedisNearCache?

    /// Creates a configuration.
    public init(
        host: String = "127.0.0.1",
        port: Int = 6379,
        username: String? = nil,
        password: String? = nil,
        database: Int = 0,
        connectionName: String? = "stash",
        commandTimeout: Duration = .seconds(5),
        connectTimeout: Duration = .seconds(5),
        minimumConnections: Int = 1,
        maximumConnections: Int = 4,
        reconnectDelay: Duration = .milliseconds(50),
        maximumReconnectDelay: Duration = .seconds(5),
        keyPrefix: String = "stash",
        cluster: [RedisNodeAddress]? = nil,
        tls: RedisTLS? = nil
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.connectionName = connectionName
        self.commandTimeout = commandTimeout
        self.connectTimeout = connectTimeout
        self.minimumConnections = minimumConnections
        self.maximumConnections = maximumConnections
        self.reconnectDelay = reconnectDelay
        self.maximumReconnectDelay = maximumReconnectDelay
        self.keyPrefix = keyPrefix
        self.cluster = cluster
        self.tls = tls
    }

    /// Creates a configuration from a URL: `redis://[[user]:password@]host[:port][/database]`, or `rediss://…` for
    /// TLS; a Redis Cluster by its seed nodes, `redis+cluster://[[user]:password@]host1:port1,host2:port2/` (or
    /// `rediss+cluster://…`), database 0 only.
    ///
    /// User and password are percent-decoded; the other settings keep their defaults. A `rediss://` URL may name
    /// PEM files and the server's name in its query: `tls_ca` (CA certificates to trust instead of the system's),
    /// `tls_cert` and `tls_key` (a client certificate and its key, for mutual TLS), `tls_server_name` (the name the
    /// server's certificate must be for, when not the host), as in
    /// `rediss://cache.internal:6380/0?tls_ca=/etc/stash/ca.pem`.
    /// - Throws: ``/Stash/StoreError/Code/invalidConfiguration`` for anything else (another scheme, a bad port or
    ///   database, another query parameter, a bad percent escape, a certificate file that cannot be read). The
    ///   message never repeats the password.
    public init(url: String) throws {
        self.init()
        let redacted = StoreURL.redactingPassword(url)
        func invalid(_ reason: String) -> StoreError {
            StoreError(.invalidConfiguration, "invalid Redis URL \(redacted.debugDescription): \(reason)")
        }
        let components: StoreURL.Components
        do {
            components = try StoreURL.components(of: url)
        } catch {
            throw invalid(error.reason)
        }
        let schemes = ["redis", "rediss", "redis+cluster", "rediss+cluster"]
        let scheme = components.scheme
        guard schemes.contains(scheme) else {
            throw invalid("it must start with redis://, rediss://, redis+cluster:// or rediss+cluster://")
        }
        if scheme.hasPrefix("rediss") {
            var files: [String: String] = [:]
            for (name, value) in components.parameters {
                guard ["tls_ca", "tls_cert", "tls_key", "tls_server_name"].contains(name) else {
                    throw invalid("unknown parameter \(name.debugDescription): tls_ca, tls_cert, tls_key and tls_server_name are known")
                }
                guard let value, !value.isEmpty else { throw invalid("the parameter \(name) needs a value") }
                files[name] = value
            }
            self.tls = try RedisTLS(
                caFile: files["tls_ca"],
                certificateFile: files["tls_cert"],
                privateKeyFile: files["tls_key"],
                serverName: files["tls_server_name"]
            )
        } else {
            guard components.parameters.isEmpty else { throw invalid("query strings are only for rediss:// URLs") }
        }
        let isCluster = scheme.hasSuffix("+cluster")
        guard let server = components.servers.first, isCluster || components.servers.count == 1 else {
            throw invalid(isCluster ? "it must name at least one seed node" : "it must name one server")
        }
        if let password = components.password {
            self.username = components.user.flatMap { $0.isEmpty ? nil : $0 }
            self.password = password
        } else if let secret = components.user {
            // redis://secret@host: a password alone, as redis-cli reads it.
            self.password = secret
        }
        self.host = server.host
        self.port = server.port ?? self.port
        if let path = components.path, !path.isEmpty {
            guard let database = Int(path), database >= 0 else { throw invalid("the database must be a non-negative number") }
            self.database = database
        }
        if isCluster {
            guard self.database == 0 else { throw invalid("a cluster has database 0 only") }
            self.cluster = components.servers.map { RedisNodeAddress(host: $0.host, port: $0.port ?? 6379) }
        }
    }

    /// Checks the settings that would otherwise fail later and less clearly.
    func validate() throws {
        func invalid(_ reason: String) -> StoreError { StoreError(.invalidConfiguration, "invalid Redis configuration: \(reason)") }
        guard (1...65535).contains(self.port) else { throw invalid("port \(self.port) is not 1 to 65535") }
        if let cluster = self.cluster {
            guard !cluster.isEmpty else { throw invalid("a cluster needs at least one seed node") }
            guard cluster.allSatisfy({ (1...65535).contains($0.port) && !$0.host.isEmpty }) else {
                throw invalid("every seed node needs a host and a port from 1 to 65535")
            }
            guard self.database == 0 else { throw invalid("a cluster has database 0 only") }
        }
        guard self.database >= 0 else { throw invalid("database \(self.database) is negative") }
        guard self.commandTimeout > .zero, self.connectTimeout > .zero else { throw invalid("timeouts must be positive") }
        try self.nearCache?.validate()
        guard self.minimumConnections >= 0, self.maximumConnections >= 1, self.minimumConnections <= self.maximumConnections else {
            throw invalid("connections must satisfy 0 <= minimum <= maximum, 1 <= maximum")
        }
        guard self.reconnectDelay > .zero, self.maximumReconnectDelay >= self.reconnectDelay else {
            throw invalid("reconnect delays must be positive, the maximum at least the first")
        }
        do {
            try StoreValidation.validateNamespace(self.keyPrefix)
        } catch {
            throw invalid("the key prefix must be a valid namespace name: \(error.message)")
        }
    }
}

extension RedisConfiguration {
    /// `host:port` (or the seeds of a cluster), as messages name the server.
    var address: String {
        guard let cluster = self.cluster else { return "\(self.host):\(self.port)" }
        return "the cluster of " + cluster.map { "\($0.host):\($0.port)" }.joined(separator: ",")
    }
}

/// A node of a Redis Cluster, by host and port.
public struct RedisNodeAddress: Sendable, Hashable {
    /// The node's host name or address.
    public var host: String
    /// The node's port.
    public var port: Int

    /// Creates an address; the port defaults to Redis's, 6379.
    public init(host: String, port: Int = 6379) {
        self.host = host
        self.port = port
    }
}
