public import NIOCore
public import Tracing

/// A store whose every operation is a span: `ResponseCache`, `SessionMiddleware` and `RateLimiter` wrap their
/// stores in one when a tracer is bootstrapped, and an application can wrap any store it uses itself.
///
/// Each span is a client span named after the operation and the namespace (`get sessions`), with OpenTelemetry's
/// database attributes:
///
/// | Attribute | Value |
/// | --- | --- |
/// | `db.system.name` | the store's ``Store/traceSystemName``: `redis`, `postgresql`, `stash.memory`, `stash.file` |
/// | `db.operation.name` | the operation: `get`, `get_and_renew`, `set`, `insert`, `delete`, `delete_all`, `exists`, `expiry`, `delete_expired`, `increment`, `update`, `record`, `insert_record`, `merge_record`, `take_record`, `rate_limit` |
/// | `stash.namespace` | the namespace the spans are labelled with (the registry name of the feature's store) |
/// | `error.type` | on failure: the ``StoreError`` code (`timedOut`, `unavailable`, …) |
///
/// No key, value, session id or error message is ever recorded: a failure is recorded as its code
/// (`StoreError.timedOut`), since a message may name the key. Listing keys (``keys(withPrefix:)``) is lazy and not
/// traced. Spans started while an operation runs (a client library's own) are its children.
///
/// ```swift
/// let store = TracingStore(try registry.store(named: "app_data"), namespace: "app_data")
/// ```
public struct TracingStore: Store {
    /// The store the operations go to.
    public let base: any Store
    /// The namespace the spans are labelled with (`stash.namespace`).
    public let namespace: String
    private let tracer: any Tracer
    private let system: String

    /// Wraps a store.
    /// - Parameters:
    ///   - base: The store the operations go to.
    ///   - namespace: The label of its spans' `stash.namespace`, such as the name the store has in a
    ///     ``StoreRegistry``.
    ///   - tracer: The tracer the spans go to; by default the one bootstrapped with `InstrumentationSystem`.
    public init(_ base: any Store, namespace: String, tracer: (any Tracer)? = nil) {
        self.base = base
        self.namespace = namespace
        self.tracer = tracer ?? InstrumentationSystem.tracer
        self.system = base.traceSystemName
    }

    /// The base store's ``Store/traceSystemName``.
    public var traceSystemName: String { self.system }

    /// The base store's largest value.
    public var maximumValueSize: Int { self.base.maximumValueSize }

    private func traced<Result>(
        _ operation: String,
        isolation: isolated (any Actor)? = #isolation,
        _ body: () async throws -> Result
    ) async throws -> Result {
        let name = self.namespace.isEmpty ? operation : operation + " " + self.namespace
        return try await self.tracer.withStashSpan(name, ofKind: .client) { span in
            span.updateAttributes { attributes in
                attributes["db.system.name"] = self.system
                attributes["db.operation.name"] = operation
                attributes["stash.namespace"] = self.namespace
            }
            return try await body()
        }
    }

    /// Traces the base store's `get` (`get`).
    public func get(_ key: String) async throws -> ByteBuffer? {
        try await self.traced("get") { try await self.base.get(key) }
    }

    /// Traces the base store's renewing `get` (`get_and_renew`).
    public func get(_ key: String, renewingFor duration: Duration) async throws -> ByteBuffer? {
        try await self.traced("get_and_renew") { try await self.base.get(key, renewingFor: duration) }
    }

    /// Traces the base store's `set` (`set`).
    public func set(_ key: String, value: ByteBuffer, expiresIn: Duration?) async throws {
        try await self.traced("set") { try await self.base.set(key, value: value, expiresIn: expiresIn) }
    }

    /// Traces the base store's `insert` (`insert`).
    public func insert(_ key: String, value: ByteBuffer, expiresIn: Duration?) async throws -> Bool {
        try await self.traced("insert") { try await self.base.insert(key, value: value, expiresIn: expiresIn) }
    }

    /// Traces the base store's `delete` (`delete`).
    public func delete(_ key: String) async throws {
        try await self.traced("delete") { try await self.base.delete(key) }
    }

    /// Traces the base store's `deleteAll` (`delete_all`).
    public func deleteAll() async throws {
        try await self.traced("delete_all") { try await self.base.deleteAll() }
    }

    /// Traces the base store's `exists` (`exists`).
    public func exists(_ key: String) async throws -> Bool {
        try await self.traced("exists") { try await self.base.exists(key) }
    }

    /// Traces the base store's `expiry(of:)` (`expiry`).
    public func expiry(of key: String) async throws -> KeyExpiry {
        try await self.traced("expiry") { try await self.base.expiry(of: key) }
    }

    /// Traces the base store's `deleteExpired` (`delete_expired`).
    public func deleteExpired() async throws {
        try await self.traced("delete_expired") { try await self.base.deleteExpired() }
    }

    /// Traces the base store's `increment` (`increment`).
    public func increment(_ key: String, by amount: Int64, initialValue: Int64, expiresIn: Duration?) async throws -> Int64 {
        try await self.traced("increment") {
            try await self.base.increment(key, by: amount, initialValue: initialValue, expiresIn: expiresIn)
        }
    }

    /// Traces the base store's `update` (`update`).
    public func update(
        _ key: String,
        _ transform: @escaping @Sendable (ByteBuffer?) throws -> StoreUpdate
    ) async throws -> ByteBuffer? {
        try await self.traced("update") { try await self.base.update(key, transform) }
    }

    /// Traces the base store's `record` (`record`).
    public func record(_ key: String, renewingFor duration: Duration?) async throws -> [String: ByteBuffer]? {
        try await self.traced("record") { try await self.base.record(key, renewingFor: duration) }
    }

    /// Traces the base store's `insertRecord` (`insert_record`).
    public func insertRecord(_ key: String, fields: [String: ByteBuffer], expiresIn: Duration?) async throws -> Bool {
        try await self.traced("insert_record") { try await self.base.insertRecord(key, fields: fields, expiresIn: expiresIn) }
    }

    /// Traces the base store's `mergeRecord` (`merge_record`).
    public func mergeRecord(_ key: String, _ changes: RecordChanges) async throws -> RecordMergeResult {
        try await self.traced("merge_record") { try await self.base.mergeRecord(key, changes) }
    }

    /// Traces the base store's `takeRecord` (`take_record`).
    public func takeRecord(_ key: String) async throws -> [String: ByteBuffer]? {
        try await self.traced("take_record") { try await self.base.takeRecord(key) }
    }

    /// Traces the base store's `rateLimit` (`rate_limit`).
    public func rateLimit(_ key: String, rule: RateLimitRule, _ operation: RateLimitOperation) async throws -> RateLimitDecision {
        try await self.traced("rate_limit") { try await self.base.rateLimit(key, rule: rule, operation) }
    }

    /// The base store's keys, untraced: the listing is a lazy sequence.
    public func keys(withPrefix prefix: String) -> StoreKeys {
        self.base.keys(withPrefix: prefix)
    }

    /// The base store's child namespace, traced with `stash.namespace` `namespace/name`.
    public func withNamespace(_ name: String) throws -> TracingStore {
        let child = try self.base.withNamespace(name)
        return TracingStore(child, namespace: self.namespace.isEmpty ? name : self.namespace + "/" + name, tracer: self.tracer)
    }
}
