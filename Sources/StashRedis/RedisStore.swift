public import NIOCore
public import Stash

/// A store on a Redis (or Redis-compatible: Valkey, KeyDB, Dragonfly) server, shared by every instance of an
/// application: sessions, cache entries and rate limits that all instances see, atomically.
///
/// It speaks RESP over its own SwiftNIO connection pool (pipelined, with timeouts and reconnection) and keeps the
/// whole store contract: TTLs in milliseconds (`SET … PX`, `PTTL`), insert by `SET NX`, renewal, increment and
/// update as server-side scripts (one round trip, atomic across every client), expiry by the server's clock.
///
/// Every key the store writes starts with ``RedisConfiguration/keyPrefix`` (`stash` by default), so it never
/// touches other keys: a key `k` of namespace `a` is `stash:a|k`. Namespace names cannot contain `:` or `|`, so a
/// key of one namespace can never equal a key of another, and `deleteAll` and key listing (`SCAN` + `UNLINK`,
/// never `KEYS` or `FLUSHDB`) match exactly one namespace and its children.
///
/// ```swift
/// let root = try RedisStore(url: "redis://127.0.0.1:6379/0")
/// let registry = StoreRegistry(defaultFactory: root.withNamespace)
/// // run `root.service` (or the registry): the connection pool every namespace shares
/// ```
public struct RedisStore: Store {
    let client: RedisClient
    /// The key prefix of this namespace, without the `|` that separates it from keys: `stash`, `stash:a:b`.
    let namespacePrefix: String
    /// `namespacePrefix` and `|`, made once: a key's Redis name is this and the key (one string to build, not two).
    private let keyHead: String
    /// This namespace's keys in the near cache, when there is one.
    let nearCacheSpace: Int

    /// Creates a store; it connects lazily, on the first command (or when its ``service`` runs).
    /// - Throws: ``/Stash/StoreError/Code/invalidConfiguration`` for settings out of range.
    public init(configuration: RedisConfiguration = .init()) throws {
        try configuration.validate()
        self.client = try RedisClient(configuration: configuration)
        self.namespacePrefix = configuration.keyPrefix
        self.keyHead = configuration.keyPrefix + "|"
        self.nearCacheSpace = self.client.nearCache?.space(for: self.keyHead) ?? 0
    }

    /// Creates a store from a `redis://[[user]:password@]host[:port][/database]` URL.
    /// - Throws: ``/Stash/StoreError/Code/invalidConfiguration`` for a malformed URL.
    public init(url: String) throws {
        try self.init(configuration: RedisConfiguration(url: url))
    }

    private init(client: RedisClient, namespacePrefix: String) {
        self.client = client
        self.namespacePrefix = namespacePrefix
        self.keyHead = namespacePrefix + "|"
        self.nearCacheSpace = client.nearCache?.space(for: self.keyHead) ?? 0
    }

    /// The configuration the store was created with.
    public var configuration: RedisConfiguration { self.client.configuration }

    public var maximumValueSize: Int { StoreLimits.defaultMaximumValueSize }

    /// `redis`, as traces name this kind of store (`db.system.name`).
    public var traceSystemName: String { "redis" }

    /// The Redis key of a store key: the namespace prefix, `|`, and the key's bytes.
    func redisKey(_ key: String) -> RESPArgument {
        .string(self.keyHead + key)
    }

    /// The value of a key: with a ``RedisConfiguration/nearCache``, from process memory when it holds the key, else
    /// from Redis, keeping what Redis returns (with its remaining time to live) for the next read.
    public func get(_ key: String) async throws -> ByteBuffer? {
        try StoreValidation.validateKey(key)
        guard let nearCache = self.client.nearCache else {
            return try await self.client.send(["GET", self.redisKey(key)]).stringBytes
        }
        switch nearCache.cached(in: self.nearCacheSpace, key) {
        case .bytes(let value): return value
        case .missing: return nil
        case .record, nil: break
        }
        let value = try await self.readThrough(key, into: nearCache, .getWithExpiry, checking: Self.check) { reply in
            guard let value = reply.stringBytes else { throw StoreError(.protocolError, "Redis answered a near-cache read with \(reply)") }
            return .bytes(value)
        }
        guard case .bytes(let bytes) = value else { return nil }
        return bytes
    }

    /// A near-cache miss: reads the key's value and its remaining time to live from Redis with `script` (which
    /// answers false for a missing key, else the value and the key's `PTTL`), and keeps them — or that the key is
    /// missing — unless the key was invalidated meanwhile. `check` throws for an error reply.
    func readThrough(
        _ key: String,
        into nearCache: RedisNearCacheTier,
        _ script: RedisScript,
        checking check: (RESPValue, String) throws -> Void,
        _ decode: (RESPValue) throws -> RedisNearCacheTier.Value
    ) async throws -> RedisNearCacheTier.Value? {
        let name = self.keyHead + key
        let slot = nearCache.clustered ? Int16(RedisKeySlot.slot(of: name)) : -1
        let ticket = nearCache.beginRead(in: self.nearCacheSpace, key)
        // What the tier keeps: nothing unless the read succeeds.
        var kept: RedisNearCacheTier.Value?
        var milliseconds: Int64?
        defer { nearCache.fill(in: self.nearCacheSpace, key, with: kept, milliseconds: milliseconds, slot: slot, ticket: ticket) }
        let reply = try await self.client.evaluate(script, keys: [.string(name)], arguments: [])
        switch reply {
        case .array(let parts) where parts.count == 2:
            guard case .integer(let remaining) = parts[1] else {
                throw StoreError(.protocolError, "Redis answered a near-cache read with \(reply)")
            }
            let value = try decode(parts[0])
            (kept, milliseconds) = (value, remaining == -1 ? nil : remaining)
            return value
        case .null, .boolean(false):
            kept = .missing
            return nil
        default:
            try check(reply, "reading a key")
            throw StoreError(.protocolError, "Redis answered a near-cache read with \(reply)")
        }
    }

    /// Runs a write of `key`; with a near cache, its copy is dropped before the write is sent and again once it is
    /// answered (or failed), so no read after the answer returns the old value — not even one that raced the write.
    func writing<Result>(_ key: String, _ write: () async throws -> Result) async throws -> Result {
        guard let nearCache = self.client.nearCache else { return try await write() }
        nearCache.invalidate(in: self.nearCacheSpace, key)
        defer { nearCache.invalidate(in: self.nearCacheSpace, key) }
        return try await write()
    }

    public func get(_ key: String, renewingFor duration: Duration) async throws -> ByteBuffer? {
        try StoreValidation.validateKey(key)
        let milliseconds = try StoreValidation.validateExpiry(duration)
        let reply = try await self.client.evaluate(.getRenewing, keys: [self.redisKey(key)], arguments: [.integer(milliseconds)])
        try Self.check(reply, "renewing a key")
        return reply.stringBytes
    }

    public func set(_ key: String, value: ByteBuffer, expiresIn: Duration?) async throws {
        let milliseconds = try StoreValidation.validateWrite(key: key, value: value, expiresIn: expiresIn, maximumValueSize: self.maximumValueSize)
        var command: [RESPArgument] = ["SET", self.redisKey(key), .bytes(value)]
        if let milliseconds { command += ["PX", .integer(milliseconds)] }
        _ = try await self.writing(key) { try await self.client.send(command) }
    }

    public func insert(_ key: String, value: ByteBuffer, expiresIn: Duration?) async throws -> Bool {
        let milliseconds = try StoreValidation.validateWrite(key: key, value: value, expiresIn: expiresIn, maximumValueSize: self.maximumValueSize)
        var command: [RESPArgument] = ["SET", self.redisKey(key), .bytes(value), "NX"]
        if let milliseconds { command += ["PX", .integer(milliseconds)] }
        return try await self.writing(key) { try await self.client.send(command) } != .null
    }

    public func delete(_ key: String) async throws {
        try StoreValidation.validateKey(key)
        _ = try await self.writing(key) { try await self.client.send(["UNLINK", self.redisKey(key)]) }
    }

    public func exists(_ key: String) async throws -> Bool {
        try StoreValidation.validateKey(key)
        return try await self.client.send(["EXISTS", self.redisKey(key)]) == .integer(1)
    }

    public func expiry(of key: String) async throws -> KeyExpiry {
        try StoreValidation.validateKey(key)
        guard case .integer(let milliseconds) = try await self.client.send(["PTTL", self.redisKey(key)]) else {
            throw StoreError(.protocolError, "Redis answered PTTL with something other than an integer")
        }
        switch milliseconds {
        case -2: return .missing
        case -1: return .never
        // PTTL rounds down; a live key always has at least the 1 ms the contract promises.
        default: return .expiresIn(.milliseconds(max(milliseconds, 1)))
        }
    }

    /// Does nothing: Redis removes expired keys itself.
    public func deleteExpired() async throws {}

    public func increment(_ key: String, by amount: Int64, initialValue: Int64, expiresIn: Duration?) async throws -> Int64 {
        try StoreValidation.validateKey(key)
        let milliseconds = try StoreValidation.validateExpiry(expiresIn)
        // The value of a new counter, checked here: the script writes it as it is.
        let created = try StoreCounter.incremented(nil, by: amount, initialValue: initialValue, key: key)
        let reply = try await self.writing(key) {
            try await self.client.evaluate(
                .increment,
                keys: [self.redisKey(key)],
                arguments: [.integer(amount), .integer(created), milliseconds.map { .integer($0) } ?? .string("")]
            )
        }
        if let message = reply.errorMessage {
            if message.contains("not an integer") { throw StoreError.notAnInteger(key: key) }
            if message.contains("overflow") { throw StoreError.overflow(key: key) }
            throw StoreError(.serverError, "Redis answered an increment with an error: \(message)")
        }
        switch reply {
        case .integer(let value):
            return value
        case .bulkString(let digits):
            guard let value = StoreCounter.parse(digits) else { throw StoreError.notAnInteger(key: key) }
            return value
        default:
            throw StoreError(.protocolError, "Redis answered an increment with \(reply)")
        }
    }

    public func update(
        _ key: String,
        _ transform: @escaping @Sendable (ByteBuffer?) throws -> StoreUpdate
    ) async throws -> ByteBuffer? {
        try StoreValidation.validateKey(key)
        let redisKey = self.redisKey(key)
        var conflicts = 0
        // Optimistic: read, transform, then a compare-and-set script applies the result only if the value is still
        // the one transformed; another client's write in between makes it run again on the new value.
        while true {
            try Task.checkCancellation()
            let current = try await self.client.send(["GET", redisKey]).stringBytes
            let update = try transform(current)
            let milliseconds = try StoreValidation.validateUpdate(update, maximumValueSize: self.maximumValueSize)
            var arguments: [RESPArgument] = current.map { ["1", .bytes($0)] } ?? ["0", ""]
            let result: ByteBuffer?
            switch update {
            case .unchanged:
                return current
            case .delete:
                arguments += ["delete", "", ""]
                result = nil
            case .set(let value, _):
                arguments += ["set", .bytes(value), milliseconds.map { .integer($0) } ?? ""]
                result = value
            case .setKeepingExpiry(let value):
                arguments += ["keep", .bytes(value), ""]
                result = value
            }
            let reply = try await self.writing(key) { try await self.client.evaluate(.compareAndSet, keys: [redisKey], arguments: arguments) }
            try Self.check(reply, "updating a key")
            if reply == .integer(1) { return result }
            // Conflict: back off a little, more as conflicts repeat, so that contending clients spread out.
            conflicts += 1
            try await Task.sleep(for: .microseconds(Int64.random(in: 0...(50 * Int64(min(conflicts, 20))))))
        }
    }

    public func withNamespace(_ name: String) throws -> RedisStore {
        try StoreValidation.validateNamespace(name)
        return RedisStore(client: self.client, namespacePrefix: self.namespacePrefix + ":" + name)
    }

    static func check(_ reply: RESPValue, _ what: String) throws {
        if let message = reply.errorMessage {
            throw StoreError(.serverError, "Redis answered \(what) with an error: \(message)")
        }
    }
}
