public import NIOCore

extension MemoryStore {
    /// Merges changes into a record under one hold of the store's lock: no retry, however many tasks merge into it.
    public func mergeRecord(_ key: String, _ changes: RecordChanges) async throws -> RecordMergeResult {
        try StoreValidation.validateKey(key)
        _ = try StoreValidation.validateChanges(changes)
        return try self.storage.state.withLock { state throws(StoreError) -> RecordMergeResult in
            // One lookup: the entry's position serves the read and the write.
            guard let index = state.liveIndex(space: self.space, key: key) else { return .missing }
            let entry = state.spaces[self.space].entries.values[index]
            let (update, result) = try RecordMerging.merge(changes, into: entry.value)
            let milliseconds = try StoreValidation.validateUpdate(update, maximumValueSize: self.maximumValueSize)
            switch update {
            case .unchanged:
                break
            case .delete:
                state.remove(space: self.space, key: key)
            case .set(let value, _):
                state.rewrite(space: self.space, at: index, expiresAt: state.deadline(afterMilliseconds: milliseconds)) { $0 = value }
            case .setKeepingExpiry(let value):
                state.rewrite(space: self.space, at: index, expiresAt: entry.expiresAt) { $0 = value }
            }
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
