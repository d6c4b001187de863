import Foundation
public import Stash
public import Vapor

/// Vapor's cache (`app.cache`, `req.cache`) kept in any Stash store: values as JSON, `expiresIn` honoured to the
/// millisecond, a `nil` value deleting the key.
///
/// ```swift
/// app.caches.use(.stash(try registry.store(named: "vapor_cache")))
/// try await req.cache.set("greeting", to: "hello", expiresIn: .minutes(5))
/// let greeting = try await req.cache.get("greeting", as: String.self)
/// ```
///
/// A stored value that does not decode as the type asked for fails with ``/Stash/StoreError/Code/conversionFailed``;
/// keys follow the store's rules (an empty or oversized key is a typed error, never a silent miss).
public struct StashCache: Cache, Sendable {
    /// The store holding the cached values.
    public let store: any Store
    /// The event loop the cache's futures complete on.
    public let eventLoop: any EventLoop

    /// Creates a cache on `store` whose futures complete on `eventLoop`.
    public init(store: any Store, on eventLoop: any EventLoop) {
        self.store = store
        self.eventLoop = eventLoop
    }

    public func get<T: Decodable>(_ key: String, as type: T.Type) -> EventLoopFuture<T?> {
        let store = self.store
        return self.eventLoop.makeFutureWithTask { try await store.get(key) }.flatMapThrowing { buffer in
            try buffer.map { buffer throws(StoreError) in try StoreJSON.decode(T.self, from: buffer, key: key, decoder: JSONDecoder()) }
        }
    }

    public func set<T: Encodable>(_ key: String, to value: T?) -> EventLoopFuture<Void> {
        self.set(key, to: value, expiresIn: nil)
    }

    public func set<T: Encodable>(_ key: String, to value: T?, expiresIn expirationTime: CacheExpirationTime?) -> EventLoopFuture<Void> {
        let store = self.store
        guard let value else {
            return self.eventLoop.makeFutureWithTask { try await store.delete(key) }
        }
        let encoded: ByteBuffer
        do {
            encoded = try StoreJSON.encode(value, key: key, encoder: JSONEncoder())
        } catch {
            return self.eventLoop.makeFailedFuture(error)
        }
        let lifetime = expirationTime.map { Duration.seconds($0.seconds) }
        return self.eventLoop.makeFutureWithTask { try await store.set(key, value: encoded, expiresIn: lifetime) }
    }

    public func `for`(_ request: Request) -> Self {
        StashCache(store: self.store, on: request.eventLoop)
    }
}

extension Application.Caches.Provider {
    /// A cache kept in a Stash store (``StashCache``).
    public static func stash(_ store: any Store) -> Self {
        .init { app in
            app.caches.use { app in StashCache(store: store, on: app.eventLoopGroup.next()) }
        }
    }
}
