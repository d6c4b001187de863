/// A store with long-running work that its namespaces share: run its ``service`` once.
public protocol ServicedStore: Store {
    /// The work of the client this store (and every namespace of its root) uses.
    var service: StoreService { get }
}
