public import Foundation
package import NIOCore
import NIOFoundationCompat

extension Store {
    /// Returns the value stored for a key, decoded from JSON.
    /// - Returns: The value, or `nil` when the key is missing or has expired.
    /// - Throws: ``StoreError/Code/conversionFailed`` when the stored bytes do not decode as `Value`.
    public func get<Value: Decodable>(_ key: String, as type: Value.Type, decoder: JSONDecoder = JSONDecoder()) async throws -> Value? {
        guard let buffer = try await self.get(key) else { return nil }
        return try StoreJSON.decode(type, from: buffer, key: key, decoder: decoder)
    }

    /// Stores a value encoded as JSON, replacing any value and expiry the key had.
    /// - Throws: ``StoreError/Code/conversionFailed`` when the value does not encode.
    public func set<Value: Encodable>(
        _ key: String,
        encoding value: Value,
        expiresIn: Duration? = nil,
        encoder: JSONEncoder = JSONEncoder()
    ) async throws {
        try await self.set(key, value: StoreJSON.encode(value, key: key, encoder: encoder), expiresIn: expiresIn)
    }

    /// Stores a value encoded as JSON only when the key is missing or has expired.
    /// - Returns: `true` when stored, `false` when a live value already existed.
    public func insert<Value: Encodable>(
        _ key: String,
        encoding value: Value,
        expiresIn: Duration? = nil,
        encoder: JSONEncoder = JSONEncoder()
    ) async throws -> Bool {
        try await self.insert(key, value: StoreJSON.encode(value, key: key, encoder: encoder), expiresIn: expiresIn)
    }
}

/// Values as JSON, with the store's typed errors: what the `Codable` operations of ``Store`` use, and the framework
/// adapters (Vapor's cache and sessions, Hummingbird's persist driver) with them.
package enum StoreJSON {
    package static func decode<Value: Decodable>(
        _ type: Value.Type,
        from buffer: ByteBuffer,
        key: String,
        decoder: JSONDecoder
    ) throws(StoreError) -> Value {
        do {
            return try decoder.decode(type, from: buffer)
        } catch {
            throw StoreError(.conversionFailed, "the value of key \(StoreError.describe(key)) is not a \(Value.self)", underlying: error)
        }
    }

    package static func encode<Value: Encodable>(_ value: Value, key: String, encoder: JSONEncoder) throws(StoreError) -> ByteBuffer {
        do {
            return try encoder.encodeAsByteBuffer(value, allocator: ByteBufferAllocator())
        } catch {
            throw StoreError(.conversionFailed, "a \(Value.self) for key \(StoreError.describe(key)) does not encode", underlying: error)
        }
    }
}
