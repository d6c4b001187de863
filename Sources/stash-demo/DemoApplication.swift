import Logging
import ServiceLifecycle
import Stash
import StashPostgres
import StashRedis

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Builds the demo server from its configuration — the root store, the registry handing out its namespaces, the
/// middleware made from them, the pages — and runs it on the framework chosen.
struct DemoApplication {
    /// What the command line chose.
    struct Configuration {
        var framework: DemoFramework
        var host: String
        var port: Int
        var store: DemoStore
        /// The most one operation of a Redis or PostgreSQL root store may take (`--store-timeout`).
        var storeTimeout: Duration = .seconds(5)
        /// The most bytes of keys and values a memory root store keeps (`--memory-limit`).
        var memoryLimit = DemoStore.defaultMemoryLimit
        /// The file the memory store is loaded from and saved to (`--persist`), if any.
        var persistPath: String?
        /// The URLs of features' own stores, by name (`--feature-store`, `STASH_STORES_<NAME>`); the others are
        /// namespaces of the root store.
        var featureStores: [String: String] = [:]
        /// How long `/cached` responses are kept.
        var cacheTTL: Duration
        var rateLimit: RateLimitOption
    }

    /// What every framework's demo serves: the middleware, the pages, and the services that run with the server
    /// (the store registry, which runs the stores it hands out, and the root store itself).
    struct Parts {
        let middleware: DemoMiddleware
        let pages: DemoPages
        let services: [any Service]
    }

    let configuration: Configuration
    let logger: Logger

    /// Runs the server until SIGINT or SIGTERM, then stops it gracefully.
    func run() async throws {
        let root: any Store
        var services: [any Service] = []
        if let path = self.configuration.persistPath {
            // What the last run saved, before any request: a truncated or foreign file stops the demo here.
            let memory = try DemoStore.makeMemoryStore(maximumBytes: self.configuration.memoryLimit)
            let persister = Persister(store: memory, path: path, configuration: .init(autoSave: true))
            try await persister.load()
            root = memory
            services.append(persister)
        } else {
            root = try self.configuration.store.makeRootStore(timeout: self.configuration.storeTimeout, memoryLimit: self.configuration.memoryLimit)
        }
        let registry = try StoreRegistry(
            rootStore: root,
            stores: self.configuration.featureStores,
            backends: [.memory, .file, .redis, .postgres]
        )
        services.insert(registry, at: 0)
        if let service = root as? any Service { services.append(service) }
        let parts = Parts(
            middleware: try DemoMiddleware(registry: registry, configuration: self.configuration),
            pages: DemoPages(),
            services: services
        )
        switch self.configuration.framework {
        case .hummingbird: try await HummingbirdDemo(parts: parts, configuration: self.configuration, logger: self.logger).run()
        case .vapor: try await VaporDemo(parts: parts, configuration: self.configuration, logger: self.logger).run()
        }
    }

    /// Says where the server listens: the port line is how scripts and tests find a server started with --port 0.
    static func announce(port: Int, configuration: Configuration, logger: Logger) {
        Self.writeLine(
            "stash-demo listening on http://\(configuration.host):\(port) (store \(configuration.store)\(Self.featureStores(configuration)), \(configuration.framework.rawValue))\n"
        )
        logger.info(
            "stash-demo started",
            metadata: ["port": "\(port)", "store": "\(configuration.store)", "framework": "\(configuration.framework)"]
        )
    }

    /// The features' own stores, for the announcement: `; sessions on redis://…`, passwords redacted.
    private static func featureStores(_ configuration: Configuration) -> String {
        configuration.featureStores.sorted { $0.key < $1.key }.map { "; \($0.key) on \(StoreURL.redactingPassword($0.value))" }.joined()
    }

    /// Writes a line to standard output at once: `print` would sit in the buffer when the output is a file or a pipe.
    private static func writeLine(_ line: String) {
        var bytes = Array(line.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
            guard written > 0 else { return }
            bytes = bytes.dropFirst(written)
        }
    }
}

/// The web framework the demo serves on: the `--framework` option.
enum DemoFramework: String, CaseIterable, CustomStringConvertible {
    case hummingbird
    case vapor

    var description: String { self.rawValue }
}
