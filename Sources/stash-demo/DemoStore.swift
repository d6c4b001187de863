import ArgumentParser
import Stash
import StashPostgres
import StashRedis

/// Where the demo keeps its data: the `--store` option.
///
/// Each feature gets a namespaced child of the one root store this makes, so one directory or one Redis database
/// serves them all. A backend is one case here, one prefix in ``init(parsing:)`` and one line in ``makeRootStore(timeout:memoryLimit:)``.
enum DemoStore: Equatable, CustomStringConvertible {
    /// A `MemoryStore` in this process.
    case memory
    /// A `FileStore` in a directory.
    case file(path: String)
    /// A `RedisStore` at a `redis://` URL (`rediss://` with TLS; `redis+cluster://` for a cluster's seed nodes), with
    /// a near cache when `nearCache` (`--near-cache`).
    case redis(url: String, nearCache: Bool)
    /// A `PostgresStore` at a `postgres://` URL, its table made at start when missing.
    case postgres(url: String)

    /// Parses `memory`, `file:PATH`, `redis://…` (`rediss://`, `redis+cluster://`, `rediss+cluster://`) or
    /// `postgres://…`.
    init(parsing text: String) throws(ValidationError) {
        if text == "memory" {
            self = .memory
        } else if text.hasPrefix("file:") {
            let path = String(text.dropFirst("file:".count))
            guard !path.isEmpty else { throw ValidationError("--store file:PATH needs a directory path after 'file:'") }
            self = .file(path: path)
        } else if ["redis://", "rediss://", "redis+cluster://", "rediss+cluster://"].contains(where: text.hasPrefix) {
            do {
                _ = try RedisConfiguration(url: text)
            } catch {
                throw ValidationError("--store \(text): \(error)")
            }
            self = .redis(url: text, nearCache: false)
        } else if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            do {
                _ = try PostgresStore.Connection(url: text)
            } catch {
                throw ValidationError("--store \(text): \(error)")
            }
            self = .postgres(url: text)
        } else {
            throw ValidationError(
                "--store must be memory, file:PATH, redis[s]://HOST[:PORT][/DB], redis[s]+cluster://HOST:PORT[,HOST:PORT…]/ or postgres://USER[:PASSWORD]@HOST[:PORT]/DB, not '\(text)'"
            )
        }
    }

    var description: String {
        switch self {
        case .memory: "memory"
        case .file(let path): "file:\(path)"
        case .redis(let url, false), .postgres(let url): StoreURL.redactingPassword(url)
        case .redis(let url, true): StoreURL.redactingPassword(url) + " with a near cache"
        }
    }

    /// The same Redis store with a near cache (other stores unchanged).
    var withNearCache: DemoStore {
        guard case .redis(let url, _) = self else { return self }
        return .redis(url: url, nearCache: true)
    }

    /// The root store whose namespaces the features use; a server's operations (and connecting to it) take at most
    /// `timeout` each, and a memory store keeps at most `memoryLimit` bytes of keys and values.
    func makeRootStore(timeout: Duration = .seconds(5), memoryLimit: Int = Self.defaultMemoryLimit) throws -> any Store {
        switch self {
        case .memory: return try Self.makeMemoryStore(maximumBytes: memoryLimit)
        case .file(let path): return try FileStore(directory: path)
        case .redis(let url, let nearCache):
            var configuration = try RedisConfiguration(url: url)
            configuration.commandTimeout = timeout
            configuration.connectTimeout = timeout
            if nearCache { configuration.nearCache = RedisNearCache() }
            return try RedisStore(configuration: configuration)
        case .postgres(let url):
            return try PostgresStore(url: url, configuration: .init(timeout: timeout))
        }
    }

    /// The memory store's bound unless `--memory-limit` says otherwise: 256 MiB.
    static let defaultMemoryLimit = 256 * 1024 * 1024

    /// The demo's memory store: bounded to `maximumBytes` of keys and values, least recently used entries evicted
    /// beyond.
    static func makeMemoryStore(maximumBytes: Int = Self.defaultMemoryLimit) throws -> MemoryStore<ContinuousClock> {
        try MemoryStore(configuration: .init(maximumBytes: maximumBytes))
    }
}
