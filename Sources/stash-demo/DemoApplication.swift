import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Stash
import StashHummingbird
import StashMiddleware

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Builds the demo server from its configuration: the root store and the registry handing out its namespaces, the
/// middleware made from them, the routes, and the services the application runs.
struct DemoApplication {
    /// What the command line chose.
    struct Configuration {
        var host: String
        var port: Int
        var store: DemoStore
        /// How long `/cached` responses are kept.
        var cacheTTL: Duration
        var rateLimit: RateLimitOption
    }

    let configuration: Configuration
    let logger: Logger

    /// The application, ready to run: its services are the store registry (which runs the stores it hands out) and
    /// the root store itself; SIGINT and SIGTERM shut it down gracefully.
    func makeApplication() throws -> some ApplicationProtocol {
        let root = try self.configuration.store.makeRootStore()
        let registry = StoreRegistry(defaultFactory: { name in try root.withNamespace(name) })
        let middleware = try DemoMiddleware(registry: registry, configuration: self.configuration)

        let router = Router(context: DemoRequestContext.self)
        DemoRoutes(middleware: middleware).add(to: router)

        var services: [any Service] = [registry]
        if let service = root as? any Service { services.append(service) }
        let configuration = self.configuration
        let logger = self.logger
        return Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "stash-demo"),
            services: services,
            onServerRunning: { channel in
                // The port line is how scripts and tests find a server started with --port 0.
                let port = channel.localAddress?.port ?? configuration.port
                Self.announce("stash-demo listening on http://\(configuration.host):\(port) (store \(configuration.store))\n")
                logger.info("stash-demo started", metadata: ["port": "\(port)", "store": "\(configuration.store)"])
            },
            logger: logger
        )
    }

    /// Writes a line to standard output at once: `print` would sit in the buffer when the output is a file or a pipe.
    private static func announce(_ line: String) {
        var bytes = Array(line.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
            guard written > 0 else { return }
            bytes = bytes.dropFirst(written)
        }
    }
}
