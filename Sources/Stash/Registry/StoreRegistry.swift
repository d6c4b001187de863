public import ServiceLifecycle

/// Finds stores by name, so each feature (`"sessions"`, `"response_cache"`, `"rate_limit"`) gets its own store
/// without knowing which backend holds it.
///
/// A name that was never registered is made by the default factory, once, and the same store is returned on
/// every later call. The usual factory hands out namespaces of one root store, so one directory, Redis or table
/// serves every feature with no key colliding:
///
/// ```swift
/// let root = try FileStore(directory: "/var/lib/myapp/stash")
/// let registry = StoreRegistry(defaultFactory: root.withNamespace)
/// let sessions = try registry.store(named: "sessions")   // root's child "sessions"
/// ```
///
/// The registry is a `Service`: run it (in the application's service group) and it runs the ``StoreService`` of
/// each ``ServicedStore`` it holds, including those it makes later, until graceful shutdown. Several names usually
/// hold namespaces of one root store, which share one client: its service runs once.
public final class StoreRegistry: Service, Sendable {
    /// Makes the store for a name that was never registered.
    public typealias Factory = @Sendable (_ name: String) throws -> any Store

    private struct State {
        var stores: [String: any Store]
        /// Set while ``run()`` runs: where the services of stores made after the start are sent to be run.
        var started: AsyncStream<StoreService>.Continuation?
    }

    private let state: Locked<State>
    private let defaultFactory: Factory

    /// Creates a registry.
    /// - Parameters:
    ///   - stores: Stores registered up front, by name.
    ///   - defaultFactory: Makes the store of a name asked for but never registered; by default a new, bounded
    ///     ``MemoryStore`` per name (``memoryStores``). It is called at most once per name, with the registry's lock held, so it
    ///     must not call the registry itself.
    public init(stores: [String: any Store] = [:], defaultFactory: @escaping Factory = StoreRegistry.memoryStores) {
        self.state = Locked(State(stores: stores, started: nil))
        self.defaultFactory = defaultFactory
    }

    /// The default factory: a new ``MemoryStore`` for each name, bounded to 64 MiB of keys and values with
    /// least-recently-used eviction, so that a cache keyed by what clients send can never grow without limit.
    public static let memoryStores: Factory = { _ in try MemoryStore(configuration: .init(maximumBytes: 64 * 1024 * 1024)) }

    /// Returns the store registered under a name, making it with the default factory the first time.
    ///
    /// Concurrent first calls for one name run the factory once and all get the same store.
    /// - Throws: Whatever the factory throws (``StoreError/Code/invalidNamespace`` from `withNamespace`, say);
    ///   a failed call registers nothing, so a later call tries again.
    public func store(named name: String) throws -> any Store {
        try self.state.withLock { state in
            if let store = state.stores[name] { return store }
            let store = try self.defaultFactory(name)
            state.stores[name] = store
            if let service = (store as? any ServicedStore)?.service { state.started?.yield(service) }
            return store
        }
    }

    /// Registers a store under a name.
    /// - Parameters:
    ///   - store: The store.
    ///   - name: The name features ask for.
    ///   - replacingExisting: Whether a store already registered (or made) under the name may be replaced.
    /// - Throws: ``StoreError/Code/alreadyExists`` when the name is taken and `replacingExisting` is `false`.
    public func register(_ store: any Store, named name: String, replacingExisting: Bool = false) throws {
        try self.state.withLock { state throws(StoreError) in
            if !replacingExisting, state.stores[name] != nil {
                throw StoreError(.alreadyExists, "a store is already registered under the name \(StoreError.describe(name))")
            }
            state.stores[name] = store
            if let service = (store as? any ServicedStore)?.service { state.started?.yield(service) }
        }
    }

    /// Whether a store is registered (or was made) under a name.
    public func contains(_ name: String) -> Bool {
        self.state.withLock { $0.stores[name] != nil }
    }

    /// Runs the service of every store held, and of every store made or registered while running, once per client
    /// (namespaces of one root share it), until graceful shutdown; then waits for them to finish. An error from one
    /// of them ends the others and is thrown.
    /// - Throws: ``StoreError/Code/invalidConfiguration`` when the registry already runs, or a store's service is
    ///   already run elsewhere; what a store's service throws.
    public func run() async throws {
        let (added, continuation) = AsyncStream<StoreService>.makeStream()
        let initial = try self.state.withLock { state throws(StoreError) in
            guard state.started == nil else { throw StoreError(.invalidConfiguration, "the StoreRegistry is already running") }
            state.started = continuation
            return state.stores.values.compactMap { ($0 as? any ServicedStore)?.service }
        }
        defer {
            self.state.withLock { $0.started = nil }
            continuation.finish()
        }
        try await withThrowingDiscardingTaskGroup { group in
            var running = Set<StoreService>()
            for service in initial where running.insert(service).inserted {
                group.addTask { try await service.run() }
            }
            for await service in added.cancelOnGracefulShutdown() where running.insert(service).inserted {
                group.addTask { try await service.run() }
            }
        }
    }
}
