import ArgumentParser
import Stash
import StashPostgres
import StashRedis

/// Where the demo keeps its data: the `--store` option.
///
/// Each feature gets a namespaced child of the one root store this makes, so one directory or one Redis database
/// serves them all. A backend is one case here, one prefix in ``init(parsing:)`` and one line in ``makeRootStore()``.
enum DemoStore: Equatable, CustomStringConvertible {
    /// A `MemoryStore` in this process.
    case memory
    /// A `FileStore` in a directory.
    case file(path: String)
    /// A `RedisStore` at a `redis://` URL (`rediss://` with TLS; `redis+cluster://` for a cluster's seed nodes).
    case redis(url: String)
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
            self = .redis(url: text)
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
        case .redis(let url), .postgres(let url): StoreURL.redactingPassword(url)
        }
    }

    /// The root store whose namespaces the features use.
    func makeRootStore() throws -> any Store {
        switch self {
        case .memory: try Self.makeMemoryStore()
        case .file(let path): try FileStore(directory: path)
        case .redis(let url): try RedisStore(url: url)
        case .postgres(let url): try PostgresStore(url: url)
        }
    }

    /// The demo's memory store: bounded to 256 MiB, least recently used entries evicted beyond.
    static func makeMemoryStore() throws -> MemoryStore<ContinuousClock> {
        try MemoryStore(configuration: .init(maximumBytes: 256 * 1024 * 1024))
    }
}
