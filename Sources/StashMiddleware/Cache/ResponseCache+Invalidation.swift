public import HTTPTypes
import Stash

extension ResponseCache {
    /// Removes the stored responses of one URL: every variant, whatever its `Vary` field values.
    /// - Parameters:
    ///   - path: The path, with its query if the key includes one (the default key sorts the parameters, so their
    ///     order does not matter).
    ///   - method: The method whose responses to remove.
    /// - Throws: What the store throws.
    /// - Note: A custom ``Configuration/key`` is given a request with only this method and path.
    public func invalidate(path: String, method: HTTPRequest.Method = .get) async throws {
        let request = StashRequest(head: HTTPRequest(method: method, scheme: nil, authority: nil, path: path))
        guard let key = self.configuration.key(request) else { return }
        let base = CacheKeys.storeKey(base: key)
        try await self.store.delete(base)
        // Listed first, then deleted: a listing is not required to survive deletions made while it runs.
        for variant in try await self.store.keys(withPrefix: CacheKeys.variantPrefix(base: base)).collect() {
            try await self.store.delete(variant)
        }
    }

    /// Removes every stored response: the store's `deleteAll`, so give the cache a store (or namespace) of its own.
    /// - Throws: What the store throws.
    public func invalidateAll() async throws {
        try await self.store.deleteAll()
    }
}
