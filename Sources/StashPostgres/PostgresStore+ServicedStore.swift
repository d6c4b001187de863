import Logging
import PostgresNIO
public import Stash

extension PostgresStore: ServicedStore {
    /// Runs the store's connection pool, when the store made it, keeps ``Configuration/sharedConnections`` of the
    /// pool's connections for single statements, and purges expired rows from the whole table
    /// every ``Configuration/purgeInterval`` (whichever namespace asks), until graceful shutdown or cancellation.
    /// Every namespace of one store has the same service: run it once.
    ///
    /// Other instances sharing the table purge it too, which is safe: each batch locks the rows it deletes and skips
    /// those another statement holds. A purge that fails (the server is down, say) is logged to
    /// ``Configuration/logger`` at debug level and the next one tries again.
    public var service: StoreService {
        let storage = self.storage
        let root = Self(storage: storage, namespace: "")
        return StoreService(owner: storage.serviceOwner) {
            try await withThrowingDiscardingTaskGroup { group in
                if storage.ownsClient {
                    group.addTask { await storage.client.run() }
                }
                if storage.sharedConnections > 0 {
                    group.addTask {
                        await storage.lanes.keep(
                            storage.sharedConnections,
                            client: storage.client,
                            timeout: storage.configuration.timeout,
                            logger: storage.logger
                        )
                    }
                }
                group.addTask {
                    try await SweepLoop.run(clock: ContinuousClock(), every: storage.configuration.purgeInterval) {
                        do {
                            let (rows, batches) = try await root.purgeExpired()
                            storage.logger.trace("PostgresStore purged expired rows", metadata: ["rows": "\(rows)", "batches": "\(batches)"])
                        } catch {
                            storage.logger.debug(
                                "PostgresStore purge failed; retrying at the next interval",
                                metadata: ["table": "\(storage.configuration.tableName)", "error": "\(error)"]
                            )
                        }
                    }
                }
            }
        }
    }
}
