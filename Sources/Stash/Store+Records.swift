public import NIOCore
import Synchronization

// The record operations on `update`, for stores without a native form: the record is one value in
// ``StoreRecordEncoding``. Atomic wherever `update` is; a store whose `update` retries (an optimistic compare-and-set)
// should replace `mergeRecord` with a step of its own, as the built-in stores do.
extension Store {
    /// Reads a record with ``get(_:)`` (or ``get(_:renewingFor:)``) and decodes it.
    public func record(_ key: String, renewingFor duration: Duration?) async throws -> [String: ByteBuffer]? {
        let stored: ByteBuffer?
        if let duration {
            stored = try await self.get(key, renewingFor: duration)
        } else {
            stored = try await self.get(key)
        }
        return try stored.map { stored throws(StoreError) in try StoreRecordEncoding.decode(stored) }
    }

    /// Creates a record with ``insert(_:value:expiresIn:)``.
    public func insertRecord(_ key: String, fields: [String: ByteBuffer], expiresIn: Duration?) async throws -> Bool {
        try StoreValidation.validateRecord(fields)
        return try await self.insert(key, value: StoreRecordEncoding.encode(fields), expiresIn: expiresIn)
    }

    /// Merges changes inside ``update(_:_:)``.
    public func mergeRecord(_ key: String, _ changes: RecordChanges) async throws -> RecordMergeResult {
        _ = try StoreValidation.validateChanges(changes)
        let result = Locked(RecordMergeResult.missing)
        _ = try await self.update(key) { current in
            // `update` may run this more than once; the last run is the one that was written.
            let (update, outcome) = try RecordMerging.merge(changes, into: current)
            result.withLock { $0 = outcome }
            return update
        }
        return result.withLock { $0 }
    }

    /// Takes a record inside ``update(_:_:)``.
    public func takeRecord(_ key: String) async throws -> [String: ByteBuffer]? {
        let taken = Locked<ByteBuffer?>(nil)
        _ = try await self.update(key) { current in
            taken.withLock { $0 = current }
            guard let current else { return .unchanged }
            guard StoreRecordEncoding.isRecord(current) else {
                throw StoreError(.conversionFailed, "the key holds a value that is not a record")
            }
            return .delete
        }
        return try taken.withLock { $0 }.map { stored throws(StoreError) in try StoreRecordEncoding.decode(stored) }
    }
}

/// A merge of ``RecordChanges`` into a record kept as one value, shared by the default implementation and the
/// in-process stores' own.
enum RecordMerging {
    /// What to write for a merge into the stored value `current`, and what the merge comes to.
    static func merge(_ changes: RecordChanges, into current: ByteBuffer?) throws(StoreError) -> (StoreUpdate, RecordMergeResult) {
        guard let current else { return (.unchanged, .missing) }
        let merged = try StoreRecordEncoding.merge(changes, into: current)
        guard merged.holdsContent else { return (.delete, .deleted) }
        let encoded = merged.encoded
        switch changes.expiry {
        case .keep: return (.setKeepingExpiry(encoded), .merged)
        case .reset(let duration): return (.set(encoded, expiresIn: duration), .merged)
        }
    }
}
