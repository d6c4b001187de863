import Foundation
import NIOCore

/// Application data kept in a store and computed when it is missing — Django's `get_or_set`, Laravel's
/// `Cache::remember` — with the response cache's coalescing: the callers of one instance that miss the same key at
/// once wait for one computation and share its value.
///
/// ```swift
/// let values = try ValueCache(registry: registry)          // its store: registry.store(named: "values")
/// let profile = try await values.value(forKey: "profile:7", expiresIn: .seconds(300)) {
///     try await database.profile(id: 7)                    // runs only when the key is missing or expired
/// }
/// try await values.remove("profile:7")                     // after the profile changed
/// ```
///
/// Values are stored as JSON (``Store/set(_:encoding:expiresIn:encoder:)``), so every instance sharing the store
/// reads what one of them computed. A stored value that no longer decodes as the type asked for (its type changed in
/// a deploy) is computed again and replaced. Coalescing is per instance: instances sharing a store may each compute a
/// key that is missing everywhere once.
///
/// Errors: a computation that throws is reported as ``StoreError/Code/computationFailed`` (its error as
/// ``StoreError/underlying``), to its caller and to every caller waiting for it, and nothing is stored; a store that
/// fails throws its own typed error (nothing is computed when the read fails).
public final class ValueCache: Sendable {
    /// The store the values are kept in.
    public let store: any Store
    package let coalescer = RequestCoalescer()

    /// Creates a cache of values in `store`.
    public init(store: any Store) {
        self.store = store
    }

    /// Creates a cache of values in the registry's store named `storeName`.
    /// - Throws: What the registry's factory throws for the name.
    public convenience init(registry: StoreRegistry, storeName: String = "values") throws {
        self.init(store: try registry.store(named: storeName))
    }

    /// The value stored for `key`, or — when it is missing, expired or no longer decodes as `Value` — the value
    /// `compute` returns, stored for `expiresIn` (`nil`: without expiry). Concurrent callers of this instance that
    /// miss the same key run `compute` once between them.
    /// - Throws: ``StoreError/Code/computationFailed`` when `compute` throws (nothing is stored; the callers waiting
    ///   for it get the same error), ``StoreError/Code/conversionFailed`` when the value does not encode, or when a
    ///   caller waiting for another's computation of the key asked for another type; the store's errors as they are.
    public func value<Value: Codable & Sendable>(
        forKey key: String,
        as type: Value.Type = Value.self,
        expiresIn: Duration?,
        orCompute compute: @Sendable () async throws -> Value
    ) async throws -> Value {
        while true {
            if let (_, value) = try await self.stored(key, as: type) { return value }
            switch try await self.coalescer.arrive(key) {
            case .leader:
                return try await self.lead(key, as: type, expiresIn: expiresIn, compute: compute)
            case .follower(let shared):
                switch shared as? Result<ByteBuffer, StoreError> {
                case .some(.success(let bytes)):
                    return try StoreJSON.decode(type, from: bytes, key: key, decoder: JSONDecoder())
                case .some(.failure(let error)):
                    throw error
                case .none:
                    // The leader was cancelled: read again, and lead if the key is still missing.
                    continue
                }
            }
        }
    }

    /// Removes the value stored for `key`, so that the next caller computes it again.
    public func remove(_ key: String) async throws {
        try await self.store.delete(key)
    }

    /// The stored value of `key` and its bytes, or `nil` when it is missing or does not decode as `Value`.
    private func stored<Value: Decodable>(_ key: String, as type: Value.Type) async throws -> (ByteBuffer, Value)? {
        guard let bytes = try await self.store.get(key),
            let value = try? StoreJSON.decode(type, from: bytes, key: key, decoder: JSONDecoder())
        else { return nil }
        return (bytes, value)
    }

    /// Computes and stores a missing value, sharing the outcome with the callers waiting for it.
    private func lead<Value: Codable & Sendable>(
        _ key: String,
        as type: Value.Type,
        expiresIn: Duration?,
        compute: @Sendable () async throws -> Value
    ) async throws -> Value {
        var shared: Result<ByteBuffer, StoreError>?
        defer { self.coalescer.finish(key, sharing: shared) }
        do {
            // A leader that finished just before this one arrived may have stored it.
            if let (bytes, value) = try await self.stored(key, as: type) {
                shared = .success(bytes)
                return value
            }
            let value: Value
            do {
                value = try await compute()
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                throw StoreError(.computationFailed, "computing the value of \(key.debugDescription) failed: \(error)", underlying: error)
            }
            let bytes = try StoreJSON.encode(value, key: key, encoder: JSONEncoder())
            try await self.store.set(key, value: bytes, expiresIn: expiresIn)
            shared = .success(bytes)
            return value
        } catch let error as StoreError {
            shared = .failure(error)
            throw error
        }
    }
}
