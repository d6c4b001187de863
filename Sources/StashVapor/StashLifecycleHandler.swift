public import ServiceLifecycle
import Stash
public import Vapor

/// Runs Stash's long-running work — a `StoreRegistry` (the sweeps and connection pools of the stores it hands out), a
/// store's own `StoreService`, a `Persister` — for as long as a Vapor `Application` runs: started once the application
/// has booted, and shut down gracefully when it stops, so that Redis and PostgreSQL connections close and a persister
/// saves once more.
///
/// ```swift
/// let app = try await Application.make(.detect())
/// let registry = StoreRegistry(defaultFactory: { name in try root.withNamespace(name) })
/// app.lifecycle.use(StashLifecycleHandler(registry))
/// ```
///
/// The services run in one `ServiceGroup` (swift-service-lifecycle) that listens to no signal of its own: Vapor
/// handles the signals and tells the handler to stop. Stopping waits for every service to end with
/// `Application.asyncShutdown()`; the synchronous `shutdown()` only asks them to.
public final class StashLifecycleHandler: LifecycleHandler {
    private struct Running {
        let group: ServiceGroup
        let task: Task<Void, any Error>
    }

    private let services: [any Service]
    private let running = Locked<Running?>(nil)

    /// Creates a handler that runs `services` while the application runs.
    public init(_ services: any Service...) {
        self.services = services
    }

    /// Creates a handler that runs `services` while the application runs.
    public init(services: [any Service]) {
        self.services = services
    }

    public func didBoot(_ application: Application) throws {
        self.start(logger: application.logger)
    }

    public func didBootAsync(_ application: Application) async throws {
        self.start(logger: application.logger)
    }

    public func shutdown(_ application: Application) {
        guard let running = self.running.withLock({ $0.take() }) else { return }
        Task { await running.group.triggerGracefulShutdown() }
    }

    public func shutdownAsync(_ application: Application) async {
        guard let running = self.running.withLock({ $0.take() }) else { return }
        await running.group.triggerGracefulShutdown()
        do {
            try await running.task.value
        } catch {
            application.logger.error("a Stash service failed while stopping", metadata: ["error": "\(error)"])
        }
    }

    /// Starts the services once; a second boot of the same handler changes nothing.
    private func start(logger: Logger) {
        self.running.withLock { running in
            guard running == nil else { return }
            let group = ServiceGroup(services: self.services, gracefulShutdownSignals: [], cancellationSignals: [], logger: logger)
            let task = Task {
                do {
                    try await group.run()
                } catch {
                    logger.error("a Stash service failed", metadata: ["error": "\(error)"])
                    throw error
                }
            }
            running = Running(group: group, task: task)
        }
    }
}
