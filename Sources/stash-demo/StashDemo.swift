import ArgumentParser
import Configuration
import Logging
import Stash
import StashConfiguration

/// `stash-demo`: a server showing Stash's middleware on a store and a framework chosen on the command line.
@main
struct StashDemo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stash-demo",
        abstract: "A server showing Stash's middleware, on Hummingbird or Vapor.",
        discussion: "Routes: " + DemoPages.routes + ". Stops gracefully on SIGINT or SIGTERM."
    )

    @Option(help: "The web framework to serve on: hummingbird or vapor.")
    var framework = DemoFramework.hummingbird

    @Option(help: "The address to listen on (a loopback address unless you mean to serve others).")
    var host = "127.0.0.1"

    @Option(help: "The port to listen on; 0 picks a free one (the chosen port is printed).")
    var port = 8080

    @Option(
        help: ArgumentHelp(
            "Where data lives: memory, file:PATH, redis[s]://HOST[:PORT][/DB], redis[s]+cluster://HOST:PORT[,HOST:PORT…]/ or postgres://USER[:PASSWORD]@HOST[:PORT]/DB.",
            valueName: "store"
        ),
        transform: { text in try DemoStore(parsing: text) }
    )
    var store = DemoStore.memory

    @Option(
        help: ArgumentHelp(
            "With --store memory: load the store from FILE at start, and save it there after changes and once more at a graceful stop.",
            valueName: "file"
        )
    )
    var persist: String?

    @Flag(
        name: .customLong("near-cache"),
        help: "With a Redis store: keep what it reads in memory, kept coherent by Redis's client-side caching."
    )
    var nearCache = false

    @Option(
        name: .customLong("feature-store"),
        help: ArgumentHelp(
            "A feature's own store, as NAME=URL (NAME: sessions, response_cache or rate_limit; URL as for --store); repeatable. The environment variables STASH_STORES_SESSIONS, STASH_STORES_RESPONSE_CACHE and STASH_STORES_RATE_LIMIT set them too; this option wins.",
            valueName: "name=url"
        )
    )
    var featureStores: [String] = []

    @Option(
        name: .customLong("memory-limit"),
        help: "With --store memory: the most MiB of keys and values it keeps; beyond, the least recently used go."
    )
    var memoryLimit = 256

    @Option(
        name: .customLong("store-timeout"),
        help: "With a Redis or PostgreSQL store: the most one store operation (or connecting) may take, in whole seconds."
    )
    var storeTimeout = 5

    @Option(name: .customLong("cache-ttl"), help: "How long /cached responses are kept, in whole seconds.")
    var cacheTTL = 5

    @Option(
        help: ArgumentHelp("The limit on /limited: N/second, N/minute, N/hour or N/day.", valueName: "limit"),
        transform: { text in try RateLimitOption(parsing: text) }
    )
    var rateLimit = RateLimitOption.standard

    func validate() throws {
        guard (0...65_535).contains(self.port) else { throw ValidationError("--port must be from 0 to 65535, not \(self.port)") }
        guard self.memoryLimit > 0, self.memoryLimit <= Int.max / (1024 * 1024) else {
            throw ValidationError("--memory-limit must be a positive number of MiB, not \(self.memoryLimit)")
        }
        guard self.storeTimeout > 0 else {
            throw ValidationError("--store-timeout must be a positive number of seconds, not \(self.storeTimeout)")
        }
        guard self.cacheTTL > 0 else { throw ValidationError("--cache-ttl must be a positive number of seconds, not \(self.cacheTTL)") }
        guard !self.host.isEmpty else { throw ValidationError("--host must not be empty") }
        if self.nearCache {
            guard case .redis = self.store else { throw ValidationError("--near-cache keeps what Redis returns; it needs a redis store") }
        }
        _ = try self.parsedFeatureStores()
        if let persist = self.persist {
            guard self.store == .memory else { throw ValidationError("--persist keeps the memory store; it needs --store memory") }
            guard !persist.isEmpty else { throw ValidationError("--persist needs a file path") }
        }
    }

    func run() async throws {
        var logger = Logger(label: "stash-demo")
        logger.logLevel = .info
        let demo = DemoApplication(
            configuration: .init(
                framework: self.framework,
                host: self.host,
                port: self.port,
                store: self.nearCache ? self.store.withNearCache : self.store,
                storeTimeout: .seconds(self.storeTimeout),
                memoryLimit: self.memoryLimit * 1024 * 1024,
                persistPath: self.persist,
                featureStores: try self.featureStoreURLs(),
                cacheTTL: .seconds(self.cacheTTL),
                rateLimit: self.rateLimit
            ),
            logger: logger
        )
        try await demo.run()
    }
}

extension DemoFramework: ExpressibleByArgument {}

extension StashDemo {
    /// The `--feature-store` options, by name.
    func parsedFeatureStores() throws(ValidationError) -> [String: String] {
        var stores: [String: String] = [:]
        for option in self.featureStores {
            guard let equals = option.firstIndex(of: "="), StoreRegistry.featureNames.contains(String(option[..<equals])) else {
                throw ValidationError(
                    "--feature-store takes NAME=URL with NAME one of \(StoreRegistry.featureNames.joined(separator: ", ")), not '\(StoreURL.redactingPassword(option))'"
                )
            }
            stores[String(option[..<equals])] = String(option[option.index(after: equals)...])
        }
        return stores
    }

    /// The features' own stores: the environment's (`STASH_STORES_<NAME>`, read with swift-configuration), then the
    /// command line's over them.
    func featureStoreURLs() throws -> [String: String] {
        let config = ConfigReader(provider: EnvironmentVariablesProvider()).scoped(to: "stash")
        var stores: [String: String] = [:]
        for name in StoreRegistry.featureNames {
            if let url = config.string(forKey: ConfigKey(["stores", name]), isSecret: true) { stores[name] = url }
        }
        return stores.merging(try self.parsedFeatureStores()) { _, command in command }
    }
}
