/// A kind of store that can be made from a URL in configuration (`memory`, `file:/var/lib/app/stash`,
/// `redis://cache:6379/0`, `postgres://…`), for ``StoreRegistry/init(root:stores:backends:)``.
///
/// `Stash` has ``memory`` and ``file``; `StashRedis` adds `.redis`, `StashPostgres` `.postgres`. A store of your own
/// is a backend with its own prefix:
///
/// ```swift
/// let dynamo = StoreBackend(name: "dynamo", prefixes: ["dynamo://"]) { url in try DynamoStore(url: url) }
/// ```
public struct StoreBackend: Sendable {
    /// The backend's name, in messages.
    public let name: String
    /// The beginnings of the URLs it makes stores of (a prefix without `:` must be the whole URL: `memory`).
    public let prefixes: [String]
    private let make: @Sendable (_ url: String) throws -> any Store

    /// Creates a backend.
    /// - Parameters:
    ///   - name: Its name, in messages.
    ///   - prefixes: The beginnings of the URLs it makes stores of; one without a `:` matches only itself.
    ///   - make: Makes a store of a URL; it should throw ``StoreError/Code/invalidConfiguration`` for one it cannot.
    public init(name: String, prefixes: [String], make: @escaping @Sendable (_ url: String) throws -> any Store) {
        self.name = name
        self.prefixes = prefixes
        self.make = make
    }

    /// Whether a URL is this backend's.
    public func accepts(_ url: String) -> Bool {
        self.prefixes.contains { prefix in prefix.contains(":") ? url.hasPrefix(prefix) : url == prefix }
    }

    /// Makes the store of a URL.
    public func makeStore(_ url: String) throws -> any Store {
        try self.make(url)
    }

    /// `memory`: a ``MemoryStore`` in this process, bounded to 64 MiB with least-recently-used eviction, as
    /// ``StoreRegistry/memoryStores`` makes them.
    public static let memory = StoreBackend(name: "memory", prefixes: ["memory"]) { _ in
        try MemoryStore(configuration: .init(maximumBytes: 64 * 1024 * 1024))
    }

    /// `file:PATH` (or `file://PATH`): a ``FileStore`` in a directory, made when missing.
    public static let file = StoreBackend(name: "file", prefixes: ["file:"]) { url in
        var path = Substring(url.dropFirst("file:".count))
        if path.hasPrefix("//") { path = path.dropFirst(2) }
        guard !path.isEmpty else {
            throw StoreError(.invalidConfiguration, "a file store's URL is file:PATH, with the directory's path: \(url.debugDescription)")
        }
        return try FileStore(directory: String(path))
    }
}
