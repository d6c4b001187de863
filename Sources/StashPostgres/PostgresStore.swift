public import NIOCore
public import PostgresNIO
public import Stash

/// A store kept in one PostgreSQL table, shared by every process that connects to it.
///
/// Each entry is a row keyed by its namespace and its key, with the value as `bytea` and the expiry as a
/// `timestamptz` (see ``PostgresSchema`` for the table, and how to create it yourself). Expiry is judged by the
/// **server's** clock (`clock_timestamp()`), to the millisecond, so every instance of an application agrees whatever
/// its own clock says: an expired row is invisible to every read, and an insert-if-absent replaces it. Every
/// operation is one statement except ``update(_:_:)``, a transaction that locks the row (`SELECT … FOR UPDATE`), so
/// sessions, counters and rate limits stay exact across any number of instances.
///
/// The store talks to the server through a postgres-nio `PostgresClient`, a connection pool that must run as a
/// `Service`: run the store's ``service`` (it runs the pool it made, keeps the connections single statements share,
/// and purges expired rows), or give it a client your application already runs and run the store for the rest. Until the pool runs, operations wait, then
/// fail with ``/Stash/StoreError/Code/timedOut``.
///
/// ```swift
/// let store = try PostgresStore(url: "postgres://app:secret@db.internal:5432/app")
/// let sessions = try store.withNamespace("sessions")
/// try await withThrowingDiscardingTaskGroup { group in
///     group.addTask { try await store.service.run() }
///     try await sessions.set("id", value: ByteBuffer(string: "data"), expiresIn: .seconds(3600))
///     group.cancelAll()
/// }
/// ```
///
/// Every failure is a ``/Stash/StoreError``: ``/Stash/StoreError/Code/unavailable`` when the server cannot be reached or closed the
/// connection, ``/Stash/StoreError/Code/timedOut`` when an operation takes longer than ``Configuration/timeout``,
/// ``/Stash/StoreError/Code/authenticationFailed`` when the server refuses the credentials and
/// ``/Stash/StoreError/Code/serverError``, with the server's message, for any other error the server reports.
public struct PostgresStore: Store {
    let storage: PostgresStorage

    /// The namespace's path as stored in the table's `namespace` column: `""` for the root store, then each
    /// namespace name followed by `/` (`"sessions/"`, `"a/child/"`).
    public let namespace: String

    /// Creates a store that connects to the server a URL names, through a connection pool of its own that
    /// ``service`` runs.
    /// - Parameters:
    ///   - url: `postgres://user[:password]@host[:port][/database][?sslmode=disable|prefer|require]`; see
    ///     ``Connection/init(url:)``.
    ///   - configuration: The table, the timeout, the purge and the value limit.
    /// - Throws: ``/Stash/StoreError/Code/invalidConfiguration`` for a malformed URL or an invalid configuration.
    public init(url: String, configuration: Configuration = .init()) throws {
        try self.init(connection: Connection(url: url), configuration: configuration)
    }

    /// Creates a store that connects to a server through a connection pool of its own that ``service`` runs.
    /// - Parameters:
    ///   - connection: The server, the credentials, TLS and the pool's size.
    ///   - configuration: The table, the timeout, the purge and the value limit.
    /// - Throws: ``/Stash/StoreError/Code/invalidConfiguration`` for an invalid connection or configuration.
    public init(connection: Connection, configuration: Configuration = .init()) throws {
        try connection.validate()
        let client = PostgresClient(configuration: connection.clientConfiguration, backgroundLogger: configuration.logger)
        self.storage = try PostgresStorage(client: client, connection: connection, configuration: configuration)
        self.namespace = ""
    }

    /// Creates a store on a `PostgresClient` the application already has and runs itself.
    ///
    /// ``service`` then keeps the store's shared connections (``Configuration/sharedConnections`` of the client's) and
    /// purges expired rows; the application must keep running the client for as long as the store is used. When the client cannot connect, operations fail with ``/Stash/StoreError/Code/timedOut`` (the store
    /// cannot ask the server why, as it can when it owns the pool).
    /// - Parameters:
    ///   - client: The client, which the application runs.
    ///   - configuration: The table, the timeout, the purge and the value limit.
    /// - Throws: ``/Stash/StoreError/Code/invalidConfiguration`` for an invalid configuration.
    public init(client: PostgresClient, configuration: Configuration = .init()) throws {
        self.storage = try PostgresStorage(client: client, connection: nil, configuration: configuration)
        self.namespace = ""
    }

    init(storage: PostgresStorage, namespace: String) {
        self.storage = storage
        self.namespace = namespace
    }

    /// The configuration the store was created with.
    public var configuration: Configuration {
        self.storage.configuration
    }

    /// The largest value accepted, in bytes: ``Configuration/maximumValueSize``.
    public var maximumValueSize: Int {
        self.storage.configuration.maximumValueSize
    }

    /// `postgresql`, as traces name this kind of store (`db.system.name`).
    public var traceSystemName: String { "postgresql" }

    /// Returns the value stored for a key, or `nil` when it is missing or expired by the server's clock.
    public func get(_ key: String) async throws -> ByteBuffer? {
        try StoreValidation.validateKey(key)
        let query = PostgresQuery(unsafeSQL: self.storage.statements.get, binds: self.bindings(key))
        return try await self.storage.first(ByteBuffer.self, of: query)
    }

    /// Returns the value stored for a key and, when it has an expiry, moves it to `duration` from now, in one
    /// statement; a key without an expiry keeps having none.
    public func get(_ key: String, renewingFor duration: Duration) async throws -> ByteBuffer? {
        try StoreValidation.validateKey(key)
        let milliseconds = try StoreValidation.validateExpiry(duration)
        var binds = self.bindings(key)
        binds.append(milliseconds)
        let query = PostgresQuery(unsafeSQL: self.storage.statements.getRenewing, binds: binds)
        return try await self.storage.first(ByteBuffer.self, of: query)
    }

    /// Stores a value, replacing any value and expiry the key had (an `INSERT … ON CONFLICT DO UPDATE`).
    public func set(_ key: String, value: ByteBuffer, expiresIn: Duration?) async throws {
        let milliseconds = try StoreValidation.validateWrite(key: key, value: value, expiresIn: expiresIn, maximumValueSize: self.maximumValueSize)
        let query = PostgresQuery(unsafeSQL: self.storage.statements.set, binds: self.bindings(key, value: value, milliseconds: milliseconds))
        try await self.storage.execute(query)
    }

    /// Stores a value only when the key is missing or expired: an `INSERT … ON CONFLICT DO UPDATE … WHERE` that
    /// replaces only an expired row, so exactly one of any number of concurrent inserts wins.
    /// - Returns: `true` when the value was stored, `false` when a live value already existed.
    public func insert(_ key: String, value: ByteBuffer, expiresIn: Duration?) async throws -> Bool {
        let milliseconds = try StoreValidation.validateWrite(key: key, value: value, expiresIn: expiresIn, maximumValueSize: self.maximumValueSize)
        let query = PostgresQuery(unsafeSQL: self.storage.statements.insert, binds: self.bindings(key, value: value, milliseconds: milliseconds))
        return try await self.storage.first(Int32.self, of: query) != nil
    }

    /// Removes a key; removing a missing key is not an error.
    public func delete(_ key: String) async throws {
        try StoreValidation.validateKey(key)
        let query = PostgresQuery(unsafeSQL: self.storage.statements.delete, binds: self.bindings(key))
        try await self.storage.execute(query)
    }

    /// Returns whether a live value exists for a key.
    public func exists(_ key: String) async throws -> Bool {
        try StoreValidation.validateKey(key)
        let query = PostgresQuery(unsafeSQL: self.storage.statements.exists, binds: self.bindings(key))
        return try await self.storage.first(Int32.self, of: query) != nil
    }

    /// Returns whether a key is missing, never expires, or how long it has left by the server's clock, rounded up to
    /// the millisecond.
    public func expiry(of key: String) async throws -> KeyExpiry {
        try StoreValidation.validateKey(key)
        let query = PostgresQuery(unsafeSQL: self.storage.statements.expiry, binds: self.bindings(key))
        let remaining = try await self.storage.first(Int64.self, of: query)
        guard let remaining else { return .missing }
        // The statement answers -1 for a row without an expiry.
        return remaining < 0 ? .never : .expiresIn(.milliseconds(remaining))
    }

    /// Returns the child namespace `name`, whose rows have the namespace path ``namespace`` + `name` + `/`.
    ///
    /// A namespace name cannot hold `/`, so a child's path never equals a sibling's or starts like one (`a/` is not
    /// a prefix of `ab/`), and deleting a namespace with its children is one range of the primary key.
    /// - Throws: ``/Stash/StoreError/Code/invalidNamespace`` for a name other than 1 to 64 ASCII letters, digits, `_` or `-`.
    public func withNamespace(_ name: String) throws -> Self {
        try StoreValidation.validateNamespace(name)
        return Self(storage: self.storage, namespace: self.namespace + name + "/")
    }

    /// The namespace and the key, the first two parameters of every statement about one key.
    func bindings(_ key: String) -> PostgresBindings {
        var binds = PostgresBindings(capacity: 4)
        binds.append(self.namespace)
        binds.append(ByteBuffer(string: key))
        return binds
    }

    /// The parameters of a write: namespace, key, value and time to live in milliseconds (`NULL`: none).
    func bindings(_ key: String, value: ByteBuffer, milliseconds: Int64?) -> PostgresBindings {
        var binds = self.bindings(key)
        binds.append(value)
        binds.append(milliseconds)
        return binds
    }
}
