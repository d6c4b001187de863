public import NIOCore
public import Stash

// Records as Redis hashes: a field per record field, the key's TTL as the record's expiry. Reading is one `HGETALL`
// (or one script when renewing), a merge one script (`HDEL`/`HSET`/`PEXPIRE` applied by the server), so concurrent
// merges of one record never conflict and never retry.
extension RedisStore {
    public func record(_ key: String, renewingFor duration: Duration?) async throws -> [String: ByteBuffer]? {
        try StoreValidation.validateKey(key)
        let reply: RESPValue
        if let duration {
            let milliseconds = try StoreValidation.validateExpiry(duration)
            reply = try await self.client.evaluate(.recordRenewing, keys: [self.redisKey(key)], arguments: [.integer(milliseconds)])
        } else if let nearCache = self.client.nearCache {
            switch nearCache.cached(in: self.nearCacheSpace, key) {
            case .record(let fields): return fields
            case .missing: return nil
            case .bytes, nil: break
            }
            let value = try await self.readThrough(key, into: nearCache, .recordWithExpiry, checking: Self.checkRecord) { reply in
                guard let fields = try Self.fields(of: reply, "reading a record") else {
                    throw StoreError(.protocolError, "Redis answered a near-cache read of a record with no fields")
                }
                return .record(fields)
            }
            guard case .record(let fields) = value else { return nil }
            return fields
        } else {
            do {
                reply = try await self.client.send(["HGETALL", self.redisKey(key)])
            } catch let error as StoreError where error.code == .serverError && error.message.contains("WRONGTYPE") {
                throw StoreError(.conversionFailed, "the key holds a value that is not a record (Redis: \(error.message))")
            }
        }
        return try Self.fields(of: reply, "reading a record")
    }

    public func insertRecord(_ key: String, fields: [String: ByteBuffer], expiresIn: Duration?) async throws -> Bool {
        try StoreValidation.validateKey(key)
        try StoreValidation.validateRecord(fields)
        let milliseconds = try StoreValidation.validateExpiry(expiresIn)
        try StoreValidation.validateFieldsSize(fields, maximumSize: self.maximumValueSize)
        var arguments: [RESPArgument] = [milliseconds.map { .integer($0) } ?? .string("")]
        arguments.reserveCapacity(1 + 2 * fields.count)
        for (name, value) in fields {
            arguments.append(.string(name))
            arguments.append(.bytes(value))
        }
        let reply = try await self.writing(key) { try await self.client.evaluate(.insertRecord, keys: [self.redisKey(key)], arguments: arguments) }
        try Self.checkRecord(reply, "inserting a record")
        return reply == .integer(1)
    }

    public func mergeRecord(_ key: String, _ changes: RecordChanges) async throws -> RecordMergeResult {
        try StoreValidation.validateKey(key)
        let milliseconds = try StoreValidation.validateChanges(changes)
        try StoreValidation.validateFieldsSize(changes.set, maximumSize: self.maximumValueSize)
        let expiry: RESPArgument
        switch changes.expiry {
        case .keep: expiry = "keep"
        case .reset(nil): expiry = "persist"
        case .reset(.some): expiry = .integer(milliseconds ?? 0)
        }
        var arguments: [RESPArgument] = [expiry, .integer(Int64(2 * changes.set.count)), .integer(Int64(changes.metadataFields.count))]
        arguments.reserveCapacity(3 + 2 * changes.set.count + changes.metadataFields.count + changes.remove.count)
        for (name, value) in changes.set {
            arguments.append(.string(name))
            arguments.append(.bytes(value))
        }
        for name in changes.metadataFields {
            arguments.append(.string(name))
        }
        for name in changes.remove {
            arguments.append(.string(name))
        }
        let reply = try await self.writing(key) { try await self.client.evaluate(.mergeRecord, keys: [self.redisKey(key)], arguments: arguments) }
        try Self.checkRecord(reply, "merging into a record")
        switch reply {
        case .integer(0): return .missing
        case .integer(1): return .merged
        case .integer(2): return .deleted
        default: throw StoreError(.protocolError, "Redis answered a record merge with \(reply)")
        }
    }

    public func takeRecord(_ key: String) async throws -> [String: ByteBuffer]? {
        try StoreValidation.validateKey(key)
        let reply = try await self.writing(key) { try await self.client.evaluate(.takeRecord, keys: [self.redisKey(key)], arguments: []) }
        return try Self.fields(of: reply, "taking a record")
    }

    /// The fields of an `HGETALL` reply (an array of names and values in RESP2, a map in RESP3); `nil` when empty.
    static func fields(of reply: RESPValue, _ what: String) throws -> [String: ByteBuffer]? {
        try Self.checkRecord(reply, what)
        let flat: [RESPValue]
        switch reply {
        case .array(let values), .map(let values): flat = values
        default: throw StoreError(.protocolError, "Redis answered \(what) with \(reply)")
        }
        guard !flat.isEmpty else { return nil }
        guard flat.count % 2 == 0 else { throw StoreError(.protocolError, "Redis answered \(what) with an odd number of values") }
        var fields: [String: ByteBuffer] = [:]
        fields.reserveCapacity(flat.count / 2)
        var index = 0
        while index < flat.count {
            guard let name = flat[index].stringBytes, let value = flat[index + 1].stringBytes else {
                throw StoreError(.protocolError, "Redis answered \(what) with a field that is not a string")
            }
            fields[String(buffer: name)] = value
            index += 2
        }
        return fields
    }

    /// Throws for an error reply: a key of another type (`WRONGTYPE`) as a conversion failure, like the other stores.
    static func checkRecord(_ reply: RESPValue, _ what: String) throws {
        guard let message = reply.errorMessage else { return }
        if message.contains("WRONGTYPE") {
            throw StoreError(.conversionFailed, "the key holds a value that is not a record (Redis: \(message))")
        }
        throw StoreError(.serverError, "Redis answered \(what) with an error: \(message)")
    }
}
