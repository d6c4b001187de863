public import Stash

extension RedisStore: ServicedStore {
    /// Runs the connection pool every namespace of this store shares (on a cluster, every primary's): opens its
    /// minimum connections, and at graceful shutdown refuses new commands, lets the ones in flight get their replies
    /// (within the command timeout), closes every connection and returns. Every namespace of one store has the same
    /// service: run it once.
    public var service: StoreService {
        let client = self.client
        return StoreService(owner: client.serviceOwner) { try await client.run() }
    }
}
