public import ServiceLifecycle

/// The long-running work of a store — a sweep of expired entries, a connection pool — that the root store and all its
/// namespaces share: one client does it for all of them, so it is run once, however many namespaces are in use.
///
/// A ``StoreRegistry`` runs the service of every store it holds, once per client. Without a registry, run the root
/// store's service with the application's other services:
///
/// ```swift
/// let root = try FileStore(directory: "/var/lib/myapp/stash")
/// let sessions = try root.withNamespace("sessions")
/// let group = ServiceGroup(services: [root.service, app], logger: logger)   // sweeps `sessions` too
/// ```
///
/// Running one client's service a second time while it runs is a mistake (say, the root's service in the group beside
/// a registry that holds its namespaces): the second run throws ``StoreError/Code/invalidConfiguration``.
public struct StoreService: Service, Sendable, Hashable {
    /// What owns the work: the client a root store and all its namespaces share. One service runs per owner.
    package final class Owner: Sendable {
        /// What the owner is, for the error that a second run throws.
        let description: String
        private let isRunning = Locked(false)

        package init(_ description: String) {
            self.description = description
        }

        /// Runs `work`, unless the owner's work already runs.
        func run(_ work: @Sendable () async throws -> Void) async throws {
            let started = self.isRunning.withLock { running in
                guard !running else { return false }
                running = true
                return true
            }
            guard started else {
                throw StoreError(
                    .invalidConfiguration,
                    "the service of \(self.description) is already running; run it once (a registry runs it for every namespace it holds)"
                )
            }
            defer { self.isRunning.withLock { $0 = false } }
            try await work()
        }
    }

    private let owner: Owner
    private let work: @Sendable () async throws -> Void

    /// Creates the service of a store's client.
    /// - Parameters:
    ///   - owner: The owner of the client every namespace of the store shares.
    ///   - work: The work, run until graceful shutdown or cancellation.
    package init(owner: Owner, work: @escaping @Sendable () async throws -> Void) {
        self.owner = owner
        self.work = work
    }

    /// Does the client's work until graceful shutdown or cancellation.
    /// - Throws: ``StoreError/Code/invalidConfiguration`` when the client's service already runs; what the work
    ///   throws otherwise.
    public func run() async throws {
        try await self.owner.run(self.work)
    }

    /// Whether two services are the work of one client (as the services of a root store and its namespaces are).
    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.owner === rhs.owner
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(ObjectIdentifier(self.owner))
    }
}
