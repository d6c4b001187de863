public import Configuration
public import Stash

extension StoreRegistry {
    /// Creates a registry from configuration read with swift-configuration — environment variables, a JSON file,
    /// command-line arguments, whatever providers the reader has — so operators move a feature to another backend
    /// without a code change.
    ///
    /// ## Configuration keys
    /// - `root` (string, optional, default `memory`): the URL of the store whose namespaces serve every name not
    ///   given a store of its own, such as `file:/var/lib/app/stash`.
    /// - `stores.<name>` (string, optional) for each of `names`: the URL of that name's store, such as
    ///   `stores.sessions` = `redis://sessions.internal:6379/0`.
    ///
    /// URLs are read as secrets (they may hold passwords): an access log redacts them. Scoped to `stash`, as below,
    /// the environment variables are `STASH_ROOT`, `STASH_STORES_SESSIONS`, `STASH_STORES_RESPONSE_CACHE` and
    /// `STASH_STORES_RATE_LIMIT`:
    ///
    /// ```swift
    /// let config = ConfigReader(provider: EnvironmentVariablesProvider())
    /// let registry = try StoreRegistry(config: config.scoped(to: "stash"), backends: [.memory, .file, .redis, .postgres])
    /// ```
    ///
    /// Every store is made here, as ``/Stash/StoreRegistry/init(root:stores:backends:)`` makes them: a bad URL fails
    /// at start.
    /// - Parameters:
    ///   - config: The reader, scoped to the registry's keys.
    ///   - names: The store names that may have a URL of their own; by default those of Stash's middleware.
    ///   - backends: The kinds of store the URLs may name.
    /// - Throws: ``/Stash/StoreError/Code/invalidConfiguration`` naming the configuration key, for a URL no backend
    ///   takes or one its backend refuses (passwords redacted).
    public convenience init(
        config: ConfigReader,
        names: [String] = StoreRegistry.featureNames,
        backends: [StoreBackend] = [.memory, .file]
    ) throws {
        let root = config.string(forKey: "root", isSecret: true, default: "memory")
        var stores: [String: String] = [:]
        for name in names {
            if let url = config.string(forKey: ConfigKey(["stores", name]), isSecret: true) { stores[name] = url }
        }
        try self.init(root: root, stores: stores, backends: backends) { name in
            "configuration key " + (name.map { "stores.\($0)" } ?? "root")
        }
    }
}
