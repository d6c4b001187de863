// Namespaces and the store registry: one root store serving every feature, a feature moved to a store of its own,
// and the same from store URLs in configuration.

// snippet.hide
import Configuration
import NIOCore
import Stash
import StashConfiguration

// snippet.show
// snippet.namespaces
// A namespace is a child store sharing its parent's storage: the same key in two namespaces is two entries.
let root = try MemoryStore(configuration: .init(maximumBytes: 64 * 1024 * 1024))
let sessions = try root.withNamespace("sessions")
let cache = try root.withNamespace("response_cache")
try await sessions.set("k", value: ByteBuffer(string: "a session"))
try await cache.set("k", value: ByteBuffer(string: "a cached response"))

// deleteAll removes a namespace and its children, never its parent's keys or a sibling's.
try await sessions.withNamespace("archive").set("k", value: ByteBuffer(string: "an archived session"))
try await sessions.deleteAll()
print("sessions:", try await sessions.get("k") == nil ? "emptied" : "kept")  // emptied
print("archive:", try await sessions.withNamespace("archive").get("k") == nil ? "emptied" : "kept")  // emptied
print("cache:", String(buffer: try await cache.get("k")!))  // a cached response
// snippet.end

// snippet.registry
// The registry hands each feature its store by name. This factory makes every name a namespace of the root, once:
// later calls return the same store.
let registry = StoreRegistry(defaultFactory: root.withNamespace)
let limits = try registry.store(named: "rate_limit")
try await limits.set("k", value: ByteBuffer(string: "a limit's state"))
print("rate_limit is root's namespace:", try await root.withNamespace("rate_limit").get("k") != nil)  // true
// snippet.end

// snippet.perFeature
// A feature moved to a store of its own, registered before anything asks for it: sessions in files, the rest in
// memory. Register the namespace of the feature's name, so its keys stay apart wherever the store is shared.
let directory = "/tmp/stash-namespaces-snippet"
let files = try FileStore(directory: directory)
let mixed = StoreRegistry(defaultFactory: root.withNamespace)
try mixed.register(files.withNamespace("sessions"), named: "sessions")
print("sessions in files:", try mixed.store(named: "sessions") is FileStore<WallClock>)  // true
print("response_cache in memory:", try mixed.store(named: "response_cache") is MemoryStore<ContinuousClock>)  // true
// snippet.end

// snippet.urls
// The same from store URLs: every name is a namespace of `root`, except those given a URL of their own. Equal URLs
// share one store; a URL no backend takes fails here, at start, not at the first request.
let fromURLs = try StoreRegistry(
    root: "memory",
    stores: ["sessions": "file:\(directory)"],
    backends: [.memory, .file]
)
print("from URLs:", try fromURLs.store(named: "sessions") is FileStore<WallClock>)  // true
// snippet.end

// snippet.configuration
// Or from swift-configuration: environment variables (STASH_ROOT, STASH_STORES_SESSIONS, …), files, arguments.
// An in-memory provider stands in for them here.
let provider = InMemoryProvider(values: [
    "stash.root": "memory",
    "stash.stores.sessions": ConfigValue(.string("file:\(directory)"), isSecret: true),
])
let config = ConfigReader(provider: provider)
let configured = try StoreRegistry(config: config.scoped(to: "stash"), backends: [.memory, .file])
print("from configuration:", try configured.store(named: "sessions") is FileStore<WallClock>)  // true
// snippet.end

// snippet.service
// A registry is a Service: run it with the application's services (Hummingbird's `services:`, a ServiceGroup) and it
// runs the background work of each client it holds once — here the memory store's sweep — however many namespaces
// share the client, until graceful shutdown.
try await withThrowingDiscardingTaskGroup { group in
    group.addTask { [registry] in try await registry.run() }
    print("requests:", try await limits.increment("requests"))  // 1
    group.cancelAll()
}
// snippet.end
try await files.deleteAll()
