public import NIOCore
import PostgresNIO
public import Stash

// Records in one call each of the table's record function (see ``PostgresSchema``): it locks the row, reads or
// changes the fields server-side and answers in the same round trip, so concurrent merges take turns on the row and
// never retry.
extension PostgresStore {
    public func record(_ key: String, renewingFor duration: Duration?) async throws -> [String: ByteBuffer]? {
        try StoreValidation.validateKey(key)
        let milliseconds = try StoreValidation.validateExpiry(duration)
        return try await self.fields(of: self.recordCall(key, operation: "read", renewMilliseconds: milliseconds))
    }

    public func insertRecord(_ key: String, fields: [String: ByteBuffer], expiresIn: Duration?) async throws -> Bool {
        try StoreValidation.validateRecord(fields)
        return try await self.insert(key, value: Self.encodeRecord(fields), expiresIn: expiresIn)
    }

    public func mergeRecord(_ key: String, _ changes: RecordChanges) async throws -> RecordMergeResult {
        try StoreValidation.validateKey(key)
        let milliseconds = try StoreValidation.validateChanges(changes)
        let expiry: String
        switch changes.expiry {
        case .keep: expiry = "keep"
        case .reset(nil): expiry = "persist"
        case .reset(.some): expiry = "reset"
        }
        try StoreValidation.validateFieldsSize(changes.set, maximumSize: self.maximumValueSize)
        let rows = try await self.recordCall(
            key,
            operation: "merge",
            sets: Self.json(changes.set),
            removes: changes.remove.map { Hexadecimal.lowercase($0.utf8) },
            metadata: changes.metadataFields.map { Hexadecimal.lowercase($0.utf8) },
            expiry: expiry,
            expiryMilliseconds: milliseconds
        )
        switch try Self.status(of: rows.first) {
        case 0: return .missing
        case 1: return .merged
        case 2: return .deleted
        case 3: throw Self.notARecord
        case let status: throw StoreError(.protocolError, "PostgreSQL answered a record merge with status \(status)")
        }
    }

    public func takeRecord(_ key: String) async throws -> [String: ByteBuffer]? {
        try StoreValidation.validateKey(key)
        return try await self.fields(of: self.recordCall(key, operation: "take"))
    }

    /// Calls the record function.
    private func recordCall(
        _ key: String,
        operation: String,
        renewMilliseconds: Int64? = nil,
        sets: String? = nil,
        removes: [String] = [],
        metadata: [String] = [],
        expiry: String = "keep",
        expiryMilliseconds: Int64? = nil
    ) async throws -> [PostgresRow] {
        var binds = self.bindings(key)
        binds.append(operation)
        binds.append(renewMilliseconds)
        binds.append(sets)
        binds.append(removes)
        binds.append(metadata)
        binds.append(expiry)
        binds.append(expiryMilliseconds)
        let query = PostgresQuery(unsafeSQL: self.storage.statements.record, binds: binds)
        return try await self.storage.calling(self.storage.statements.recordFunction, query)
    }

    /// The fields of a read or a take: a row per field, none for a missing record, status 3 for a value that is not
    /// a record.
    private func fields(of rows: [PostgresRow]) throws -> [String: ByteBuffer]? {
        guard !rows.isEmpty else { return nil }
        var fields: [String: ByteBuffer] = [:]
        fields.reserveCapacity(rows.count)
        do {
            for row in rows {
                let (status, name, value) = try row.decode((Int32, ByteBuffer?, ByteBuffer?).self)
                if status == 3 { throw Self.notARecord }
                guard status == 1, let name, let value else {
                    throw StoreError(.protocolError, "PostgreSQL answered a record read with status \(status)")
                }
                fields[String(buffer: name)] = value
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw PostgresStorage.storeError(error)
        }
        return fields
    }

    private static func status(of row: PostgresRow?) throws -> Int32 {
        guard let row else { throw StoreError(.protocolError, "PostgreSQL answered a record merge with no row") }
        do {
            return try row.decode(Int32.self)
        } catch {
            throw PostgresStorage.storeError(error)
        }
    }

    private static var notARecord: StoreError {
        StoreError(.conversionFailed, "the key holds a value that is not a record")
    }

    /// A record's stored form: `0xA5` and the JSON object of its fields, names and values in hexadecimal.
    static func encodeRecord(_ fields: [String: ByteBuffer]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt8(0xA5))
        buffer.writeString(Self.json(fields))
        return buffer
    }

    /// A JSON object of fields, names and values in hexadecimal: nothing in it needs escaping.
    static func json(_ fields: [String: ByteBuffer]) -> String {
        var json = "{"
        var first = true
        for (name, value) in fields {
            if !first { json += "," }
            first = false
            json += "\"" + Hexadecimal.lowercase(name.utf8) + "\":\"" + Hexadecimal.lowercase(value.readableBytesView) + "\""
        }
        return json + "}"
    }
}
