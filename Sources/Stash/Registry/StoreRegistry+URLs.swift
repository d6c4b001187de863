extension StoreRegistry {
    /// The names Stash's middleware find their stores by: `sessions`, `response_cache` and `rate_limit`.
    public static let featureNames = ["sessions", "response_cache", "rate_limit"]

    /// Creates a registry from store URLs, so operators move a feature to another backend without a code change:
    /// every name is a namespace of the `root` store, except those `stores` gives a URL of their own.
    ///
    /// ```swift
    /// let registry = try StoreRegistry(
    ///     root: "file:/var/lib/app/stash",
    ///     stores: ["sessions": "redis://sessions.internal:6379/0", "response_cache": "memory"],
    ///     backends: [.memory, .file, .redis, .postgres]
    /// )
    /// ```
    ///
    /// A store named in `stores` is the namespace of its name in the store its URL makes, as the root's namespaces
    /// are, so a feature keeps its keys apart wherever it moves. Equal URLs make one store (one client, one pool),
    /// whose namespaces they share. Every store is made here: a bad URL fails now, not at the first request.
    /// - Parameters:
    ///   - root: The URL of the store whose namespaces serve every name `stores` does not give.
    ///   - stores: URLs by store name.
    ///   - backends: The kinds of store the URLs may name; by default memory and files.
    /// - Throws: ``StoreError/Code/invalidConfiguration`` naming the store (and redacting any password) for a URL no
    ///   backend takes, or what a backend throws for its URL, with the store's name in front.
    public convenience init(root: String, stores: [String: String] = [:], backends: [StoreBackend] = [.memory, .file]) throws {
        try self.init(root: root, stores: stores, backends: backends, describe: Self.describe)
    }

    /// Creates a registry whose names are namespaces of a store already made (one loaded by a ``Persister``, say),
    /// except those `stores` gives a URL of their own, made as ``init(root:stores:backends:)`` makes them.
    public convenience init(rootStore: any Store, stores: [String: String], backends: [StoreBackend] = [.memory, .file]) throws {
        var made: [String: any Store] = [:]
        let named = try Self.namedStores(stores, backends: backends, made: &made, describe: Self.describe)
        self.init(stores: named, defaultFactory: { name in try rootStore.withNamespace(name) })
    }

    /// Creates a registry from store URLs, naming in its errors what `describe` calls a store's URL (`nil`: the
    /// root's) — a configuration key, say.
    package convenience init(
        root: String,
        stores: [String: String],
        backends: [StoreBackend],
        describe: (_ name: String?) -> String
    ) throws {
        var made: [String: any Store] = [:]
        let rootStore = try Self.store(root, backends: backends, made: &made, for: describe(nil))
        let named = try Self.namedStores(stores, backends: backends, made: &made, describe: describe)
        self.init(stores: named, defaultFactory: { name in try rootStore.withNamespace(name) })
    }

    /// How errors name a store's URL by default.
    private static func describe(_ name: String?) -> String {
        name.map { "the store \($0.debugDescription)" } ?? "the root store"
    }

    /// The namespace of each name in the store of its URL.
    private static func namedStores(
        _ stores: [String: String],
        backends: [StoreBackend],
        made: inout [String: any Store],
        describe: (_ name: String?) -> String
    ) throws -> [String: any Store] {
        var named: [String: any Store] = [:]
        for (name, url) in stores.sorted(by: { $0.key < $1.key }) {
            named[name] = try Self.store(url, backends: backends, made: &made, for: describe(name)).withNamespace(name)
        }
        return named
    }

    /// The store of a URL: the one made for an equal URL before, or a new one from the backend that takes it.
    private static func store(_ url: String, backends: [StoreBackend], made: inout [String: any Store], for what: String) throws -> any Store {
        if let store = made[url] { return store }
        guard let backend = backends.first(where: { $0.accepts(url) }) else {
            let known = backends.flatMap(\.prefixes).map { $0.contains(":") ? $0 + "…" : $0 }.joined(separator: ", ")
            throw StoreError(.invalidConfiguration, "\(what): \(StoreURL.redactingPassword(url).debugDescription) is no store URL; known: \(known)")
        }
        let store: any Store
        do {
            store = try backend.makeStore(url)
        } catch let error as StoreError {
            throw StoreError(error.code, "\(what): \(error.message)", underlying: error.underlying)
        } catch {
            throw StoreError(.invalidConfiguration, "\(what): \(error)", underlying: error)
        }
        made[url] = store
        return store
    }
}
