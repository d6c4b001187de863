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
        var size = 0
        for (name, value) in changes.set { size += name.utf8.count + value.readableBytes }
        guard size <= self.maximumValueSize else {
            throw StoreError(.valueTooLarge, "record fields of \(size) bytes exceed the store's limit of \(self.maximumValueSize) bytes")
        }
        let rows = try await self.recordCall(
            key,
            operation: "merge",
            sets: Self.json(changes.set),
            removes: changes.remove.map { Self.hex(ByteBuffer(string: $0)) },
            metadata: changes.metadataFields.map { Self.hex(ByteBuffer(string: $0)) },
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
        do {
            return try await self.storage.single(query)
        } catch let error as StoreError where PostgresStorage.sqlState(of: error) == "42883" {
            throw StoreError(
                .serverError,
                "PostgreSQL has no function \(self.storage.statements.recordFunction): run the migration of PostgresSchema.migrationSQL(table:) again",
                underlying: error.underlying
            )
        }
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
            json += "\"" + Self.hex(ByteBuffer(string: name)) + "\":\"" + Self.hex(value) + "\""
        }
        return json + "}"
    }

    /// Lowercase hexadecimal, two digits per byte.
    static func hex(_ bytes: ByteBuffer) -> String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        return String(unsafeUninitializedCapacity: bytes.readableBytes * 2) { output in
            var index = 0
            for byte in bytes.readableBytesView {
                output[index] = digits[Int(byte >> 4)]
                output[index + 1] = digits[Int(byte & 0x0F)]
                index += 2
            }
            return index
        }
    }
}
