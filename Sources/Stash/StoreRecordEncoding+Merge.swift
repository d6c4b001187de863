public import NIOCore

extension StoreRecordEncoding {
    /// What ``merge(_:into:)`` made.
    package struct Merged {
        /// The new stored form.
        package var encoded: ByteBuffer
        /// Whether a field other than the changes' metadata fields is left.
        package var holdsContent: Bool
    }

    /// Applies changes to a stored record without building a dictionary of its fields: a merge-join of the stored
    /// fields, which are in ascending order of name, with the changed names in the same order, copying untouched
    /// fields as they are.
    /// - Throws: ``StoreError/Code/conversionFailed`` when the value is not a record; ``StoreError/Code/corruptEntry``
    ///   for a damaged record, or one whose names are not in ascending order.
    package static func merge(_ changes: RecordChanges, into stored: ByteBuffer) throws(StoreError) -> Merged {
        var input = stored
        guard input.readInteger(as: UInt8.self) == Self.marker else {
            throw StoreError(.conversionFailed, "the key holds a value that is not a record")
        }
        guard let version = input.readInteger(as: UInt8.self), version == Self.version else {
            throw StoreError(.corruptEntry, "the record's format version is unknown")
        }
        guard let count = input.readInteger(as: UInt32.self) else { throw Self.corrupt("its header is truncated") }
        guard Int(count) <= input.readableBytes / 8 else { throw Self.corrupt("it claims \(count) fields") }

        // The changed names in order, on the stack for the few a merge usually has.
        let changedCount = changes.set.count + changes.remove.count
        return try withUnsafeTemporaryAllocation(of: String.self, capacity: changedCount) { names throws(StoreError) in
            var filled = 0
            for name in changes.set.keys {
                names.initializeElement(at: filled, to: name)
                filled += 1
            }
            for name in changes.remove {
                names.initializeElement(at: filled, to: name)
                filled += 1
            }
            defer { names.deinitialize() }
            var sorted = names
            sorted.sort()
            return try Self.merge(changes, sortedNames: UnsafeBufferPointer(names), into: stored, input: input, count: count)
        }
    }

    /// The merge-join itself, over the changed names in ascending order and the stored fields after the header.
    private static func merge(
        _ changes: RecordChanges,
        sortedNames changed: UnsafeBufferPointer<String>,
        into stored: ByteBuffer,
        input: ByteBuffer,
        count: UInt32
    ) throws(StoreError) -> Merged {
        var input = input
        var size = stored.readableBytes
        for (name, value) in changes.set { size += 8 + name.utf8.count + value.readableBytes }
        var output = ByteBufferAllocator().buffer(capacity: size)
        output.writeInteger(Self.marker)
        output.writeInteger(Self.version)
        let countIndex = output.writerIndex
        output.writeInteger(UInt32(0))
        var written: UInt32 = 0
        var holdsContent = false

        func wrote(_ name: String) {
            written += 1
            if !holdsContent, !changes.metadataFields.contains(name) { holdsContent = true }
        }
        func emit(_ name: String, _ value: ByteBuffer) {
            output.writeInteger(UInt32(name.utf8.count))
            output.writeString(name)
            output.writeInteger(UInt32(value.readableBytes))
            output.writeImmutableBuffer(value)
            wrote(name)
        }
        /// Writes the changes whose names come before `limit` (all of them when `nil`) that set a value.
        func emitChanges(before limit: String?, from next: inout Int) {
            while next < changed.count, limit.map({ changed[next] < $0 }) ?? true {
                if let value = changes.set[changed[next]] { emit(changed[next], value) }
                next += 1
            }
        }

        var next = 0
        var previous: String?
        for _ in 0..<count {
            let start = input.readerIndex
            guard let nameLength = input.readInteger(as: UInt32.self),
                let name = input.readString(length: Int(nameLength)),
                let valueLength = input.readInteger(as: UInt32.self),
                input.readableBytes >= Int(valueLength)
            else { throw Self.corrupt("a field is truncated") }
            input.moveReaderIndex(forwardBy: Int(valueLength))
            if let previous, !(previous < name) {
                throw Self.corrupt(previous == name ? "a field appears twice" : "its fields are out of order")
            }
            previous = name
            emitChanges(before: name, from: &next)
            if next < changed.count, changed[next] == name {
                // Changed: a new value, or removed.
                if let value = changes.set[name] { emit(name, value) }
                next += 1
            } else {
                // Untouched: its bytes as they are.
                let field = stored.getSlice(at: start, length: input.readerIndex - start)!
                output.writeImmutableBuffer(field)
                wrote(name)
            }
        }
        guard input.readableBytes == 0 else { throw Self.corrupt("bytes follow its last field") }
        emitChanges(before: nil, from: &next)
        output.setInteger(written, at: countIndex)
        return Merged(encoded: output, holdsContent: holdsContent)
    }
}
