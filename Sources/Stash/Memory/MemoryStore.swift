public import NIOCore

/// The embedded default store: entries in memory, behind one lock, with optional bounds and LRU eviction.
///
/// Namespaces made by ``withNamespace(_:)`` share the parent's storage and bounds. Expired entries are
/// removed when read, by ``deleteExpired()``, and every ``Configuration/sweepInterval`` while the store
/// runs its ``service`` (one sweep for the store and all its namespaces).
///
/// ```swift
/// let root = try MemoryStore(configuration: .init(maximumEntries: 100_000))
/// let sessions = try root.withNamespace("sessions")
/// try await sessions.set("id", value: ByteBuffer(string: "data"), expiresIn: .seconds(3600))
/// ```
public struct MemoryStore<C: Clock>: Store where C.Duration == Duration {
    /// How a memory store is bounded and swept.
    public struct Configuration: Sendable {
        /// The most entries kept; beyond it the least recently used are evicted. `nil`: no limit.
        public var maximumEntries: Int?
        /// The most bytes (keys plus values) kept; beyond it the least recently used are evicted. `nil`: no limit.
        public var maximumBytes: Int?
        /// The largest value accepted, in bytes.
        public var maximumValueSize: Int
        /// How often the background sweep removes expired entries while the store's ``MemoryStore/service`` runs.
        public var sweepInterval: Duration

        /// Creates a configuration.
        /// - Parameters:
        ///   - maximumEntries: The most entries kept before LRU eviction, or `nil` for no limit.
        ///   - maximumBytes: The most bytes of keys and values kept before LRU eviction, or `nil` for no limit.
        ///   - maximumValueSize: The largest value accepted, in bytes.
        ///   - sweepInterval: How often the background sweep runs.
        public init(
            maximumEntries: Int? = nil,
            maximumBytes: Int? = nil,
            maximumValueSize: Int = StoreLimits.defaultMaximumValueSize,
            sweepInterval: Duration = .seconds(60)
        ) {
            self.maximumEntries = maximumEntries
            self.maximumBytes = maximumBytes
            self.maximumValueSize = maximumValueSize
            self.sweepInterval = sweepInterval
        }

        /// Checks the settings a store cannot work with.
        func validate() throws(StoreError) {
            func invalid(_ reason: String) -> StoreError {
                StoreError(.invalidConfiguration, "invalid MemoryStore configuration: \(reason)")
            }
            if let entries = self.maximumEntries, entries <= 0 { throw invalid("maximumEntries must be positive, not \(entries)") }
            if let bytes = self.maximumBytes, bytes <= 0 { throw invalid("maximumBytes must be positive, not \(bytes)") }
            guard self.maximumValueSize >= 0 else { throw invalid("maximumValueSize must not be negative, not \(self.maximumValueSize)") }
            guard self.sweepInterval > .zero else { throw invalid("sweepInterval must be positive, not \(self.sweepInterval)") }
        }
    }

    // The two fields every operation reads come first, at offsets known without generic metadata.
    @usableFromInline let storage: MemoryStorage
    @usableFromInline let space: Int
    /// The clock that times expiry.
    public let clock: C
    /// The configuration the store was created with.
    public let configuration: Configuration

    /// Creates an empty, unbounded store timed by the continuous clock.
    public init() where C == ContinuousClock {
        self.init(checked: ContinuousClock(), configuration: Configuration())
    }

    /// Creates an empty store timed by the continuous clock.
    /// - Throws: ``StoreError/Code/invalidConfiguration`` when a bound or the sweep interval is not positive, or the
    ///   largest value is negative.
    public init(configuration: Configuration) throws(StoreError) where C == ContinuousClock {
        try self.init(clock: ContinuousClock(), configuration: configuration)
    }

    /// Creates an empty, unbounded store timed by the given clock (a manual clock in tests).
    public init(clock: C) {
        self.init(checked: clock, configuration: Configuration())
    }

    /// Creates an empty store timed by the given clock (a manual clock in tests).
    /// - Throws: ``StoreError/Code/invalidConfiguration`` when a bound or the sweep interval is not positive, or the
    ///   largest value is negative.
    public init(clock: C, configuration: Configuration) throws(StoreError) {
        try configuration.validate()
        self.init(checked: clock, configuration: configuration)
    }

    private init(checked clock: C, configuration: Configuration) {
        self.storage = MemoryStorage(clock: clock, maximumEntries: configuration.maximumEntries, maximumBytes: configuration.maximumBytes)
        self.space = 0
        self.clock = clock
        self.configuration = configuration
    }

    init(storage: MemoryStorage, space: Int, clock: C, configuration: Configuration) {
        self.storage = storage
        self.space = space
        self.clock = clock
        self.configuration = configuration
    }

    public var maximumValueSize: Int {
        min(self.configuration.maximumValueSize, self.configuration.maximumBytes ?? .max)
    }

    /// `stash.memory`, as traces name this kind of store (`db.system.name`).
    public var traceSystemName: String { "stash.memory" }

    /// The number of entries held by this store's whole tree of namespaces, expired ones not yet removed included.
    public var count: Int {
        self.storage.state.withLock { $0.count }
    }

    // Inlinable (with `get(_:renewingFor:)`): the hit path specialises in the caller instead of running generic
    // code across the module boundary — about a third of a hit's time in the StoreBenchmarks figures.
    @inlinable
    public func get(_ key: String) async throws -> ByteBuffer? {
        try StoreValidation.validateKey(key)
        return self.storage.state.withLock { $0.get(space: self.space, key: key) }
    }

    @inlinable
    public func get(_ key: String, renewingFor duration: Duration) async throws -> ByteBuffer? {
        try StoreValidation.validateKey(key)
        let milliseconds = try StoreValidation.validateExpiry(duration)
        return self.storage.state.withLock { $0.get(space: self.space, key: key, renewingFor: milliseconds) }
    }

    public func set(_ key: String, value: ByteBuffer, expiresIn: Duration?) async throws {
        let milliseconds = try StoreValidation.validateWrite(key: key, value: value, expiresIn: expiresIn, maximumValueSize: self.maximumValueSize)
        self.storage.state.withLock { state in
            state.set(space: self.space, key: key, value: value.compacted, expiresAt: state.deadline(afterMilliseconds: milliseconds))
        }
    }

    public func insert(_ key: String, value: ByteBuffer, expiresIn: Duration?) async throws -> Bool {
        let milliseconds = try StoreValidation.validateWrite(key: key, value: value, expiresIn: expiresIn, maximumValueSize: self.maximumValueSize)
        return self.storage.state.withLock { state in
            state.insert(space: self.space, key: key, value: value.compacted, expiresAt: state.deadline(afterMilliseconds: milliseconds))
        }
    }

    public func delete(_ key: String) async throws {
        try StoreValidation.validateKey(key)
        self.storage.state.withLock { $0.remove(space: self.space, key: key) }
    }

    public func deleteAll() async throws {
        self.storage.state.withLock { $0.removeAll(space: self.space) }
    }

    public func exists(_ key: String) async throws -> Bool {
        try StoreValidation.validateKey(key)
        return self.storage.state.withLock { $0.exists(space: self.space, key: key) }
    }

    public func expiry(of key: String) async throws -> KeyExpiry {
        try StoreValidation.validateKey(key)
        return self.storage.state.withLock { $0.expiry(space: self.space, key: key) }
    }

    public func deleteExpired() async throws {
        self.removeExpired()
    }

    public func increment(_ key: String, by amount: Int64, initialValue: Int64, expiresIn: Duration?) async throws -> Int64 {
        try StoreValidation.validateKey(key)
        let milliseconds = try StoreValidation.validateExpiry(expiresIn)
        return try self.storage.state.withLock { state throws(StoreError) in
            try state.increment(
                space: self.space,
                key: key,
                by: amount,
                initialValue: initialValue,
                expiresAt: state.deadline(afterMilliseconds: milliseconds)
            )
        }
    }

    public func update(
        _ key: String,
        _ transform: @escaping @Sendable (ByteBuffer?) throws -> StoreUpdate
    ) async throws -> ByteBuffer? {
        try StoreValidation.validateKey(key)
        // Optimistic: the transform runs outside the lock, so a slow one never stalls other keys; a write to the
        // key in between makes the commit fail and the transform run again on the new value.
        while true {
            try Task.checkCancellation()
            let snapshot = self.storage.state.withLock { $0.snapshot(space: self.space, key: key) }
            let update = Self.compacted(try transform(snapshot.value))
            if case .unchanged = update { return snapshot.value }
            let milliseconds = try StoreValidation.validateUpdate(update, maximumValueSize: self.maximumValueSize)
            let committed = self.storage.state.withLock { state in
                state.commit(
                    space: self.space,
                    key: key,
                    seen: snapshot.version,
                    update: update,
                    expiresAt: state.deadline(afterMilliseconds: milliseconds)
                )
            }
            if committed {
                switch update {
                case .unchanged, .delete: return nil
                case .set(let value, _), .setKeepingExpiry(let value): return value
                }
            }
        }
    }

    public func keys(withPrefix prefix: String) -> StoreKeys {
        StoreKeys {
            StoreKeys.Page(keys: self.storage.state.withLock { $0.keys(space: self.space, prefix: prefix) })
        }
    }

    public func withNamespace(_ name: String) throws -> Self {
        try StoreValidation.validateNamespace(name)
        let child = self.storage.state.withLock { $0.child(named: name, of: self.space) }
        return Self(storage: self.storage, space: child, clock: self.clock, configuration: self.configuration)
    }

    /// An update as the store keeps it: its value ``NIOCore/ByteBuffer/compacted``.
    static func compacted(_ update: StoreUpdate) -> StoreUpdate {
        switch update {
        case .unchanged, .delete: update
        case .set(let value, let expiresIn): .set(value.compacted, expiresIn: expiresIn)
        case .setKeepingExpiry(let value): .setKeepingExpiry(value.compacted)
        }
    }

    /// Removes the expired entries of this namespace and its children, one namespace per lock hold.
    /// - Returns: How many entries were removed.
    @discardableResult
    func removeExpired() -> Int {
        let spaces = self.storage.state.withLock { $0.subtree(of: self.space) }
        var removed = 0
        for space in spaces {
            removed += self.storage.state.withLock { $0.removeExpired(space: space) }
        }
        return removed
    }
}

extension ByteBuffer {
    /// The bytes in a buffer of their own when they are a small slice of a much larger one (a value read from a
    /// socket), so that what a cache keeps counts what memory really holds and never keeps a large buffer alive.
    package var compacted: ByteBuffer {
        guard self.storageCapacity > 2 * self.readableBytes + 1024 else { return self }
        var copy = ByteBufferAllocator().buffer(capacity: self.readableBytes)
        copy.writeImmutableBuffer(self)
        return copy
    }
}
