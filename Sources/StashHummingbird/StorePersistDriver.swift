import Foundation
public import Hummingbird
import ServiceLifecycle
public import Stash

/// Hummingbird's persist API (`PersistDriver`) on any Stash store: values as JSON, so Hummingbird applications — and
/// hummingbird-auth's `SessionMiddleware`, which keeps its sessions through it — run on files, Redis, PostgreSQL or
/// the bounded memory store.
///
/// ```swift
/// let persist = StorePersistDriver(store: try registry.store(named: "persist"))
/// router.add(middleware: SessionMiddleware(storage: persist))   // hummingbird-auth
/// let app = Application(router: router, services: [registry, persist])
/// ```
///
/// `create` refuses an existing key with `PersistError.duplicate`; `get` of a value stored as another type throws
/// `PersistError.invalidConversion`; `set` without an expiry keeps the one the key had. Keys follow the store's
/// rules: an empty or oversized key is a typed ``/Stash/StoreError``. As a service it only waits for shutdown: the
/// store's own work (sweeps, connections) runs with the registry or the store's `service`.
public struct StorePersistDriver: PersistDriver {
    /// The store holding the values.
    public let store: any Store

    /// Creates a driver on `store`.
    public init(store: any Store) {
        self.store = store
    }

    public func run() async throws {
        try? await gracefulShutdown()
    }

    public func create<Object: Codable & Sendable>(key: String, value: Object, expires: Duration?) async throws {
        guard try await self.store.insert(key, encoding: value, expiresIn: expires) else { throw PersistError.duplicate }
    }

    public func set<Object: Codable & Sendable>(key: String, value: Object, expires: Duration?) async throws {
        if let expires {
            try await self.store.set(key, encoding: value, expiresIn: expires)
            return
        }
        let encoded = try StoreJSON.encode(value, key: key, encoder: JSONEncoder())
        // No expiry given: a key that has one keeps it; a new key gets none.
        _ = try await self.store.update(key) { current in
            current == nil ? .set(encoded, expiresIn: nil) : .setKeepingExpiry(encoded)
        }
    }

    public func get<Object: Codable & Sendable>(key: String, as object: Object.Type) async throws -> Object? {
        do {
            return try await self.store.get(key, as: object)
        } catch let error as StoreError where error.code == .conversionFailed {
            throw PersistError.invalidConversion
        }
    }

    public func getWithTTL<Object: Codable & Sendable>(key: String, as object: Object.Type) async throws -> (object: Object, ttl: Duration?)? {
        guard let value = try await self.get(key: key, as: object) else { return nil }
        switch try await self.store.expiry(of: key) {
        case .missing: return nil
        case .never: return (value, nil)
        case .expiresIn(let remaining): return (value, remaining)
        }
    }

    public func remove(key: String) async throws {
        try await self.store.delete(key)
    }
}
