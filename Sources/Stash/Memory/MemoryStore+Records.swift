public import NIOCore
import Synchronization

extension MemoryStore {
    /// Merges changes into a record under one hold of the store's lock: no retry, however many tasks merge into it.
    public func mergeRecord(_ key: String, _ changes: RecordChanges) async throws -> RecordMergeResult {
        try StoreValidation.validateKey(key)
        _ = try StoreValidation.validateChanges(changes)
        return try self.storage.state.withLock { state throws(StoreError) -> RecordMergeResult in
            let snapshot = state.snapshot(space: self.space, key: key)
            let (update, result) = try RecordMerging.merge(changes, into: snapshot.value)
            let milliseconds = try StoreValidation.validateUpdate(update, maximumValueSize: self.maximumValueSize)
            // The version seen is the current one: the lock is still held.
            _ = state.commit(
                space: self.space,
                key: key,
                seen: snapshot.version,
                update: update,
                expiresAt: state.deadline(afterMilliseconds: milliseconds)
            )
            return result
        }
    }

    /// Reads and deletes a record under one hold of the store's lock.
    public func takeRecord(_ key: String) async throws -> [String: ByteBuffer]? {
        try StoreValidation.validateKey(key)
        let taken = try self.storage.state.withLock { state throws(StoreError) -> ByteBuffer? in
            guard let value = state.snapshot(space: self.space, key: key).value else { return nil }
            guard StoreRecordEncoding.isRecord(value) else {
                throw StoreError(.conversionFailed, "the key holds a value that is not a record")
            }
            state.remove(space: self.space, key: key)
            return value
        }
        return try taken.map { stored throws(StoreError) in try StoreRecordEncoding.decode(stored) }
    }
}
