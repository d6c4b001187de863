import HTTPTypes
import NIOCore

/// What the cache keeps under a key, in a compact versioned binary form: a response, or — under the key of a URL
/// whose responses vary — the names of the request fields that select among them.
///
/// Layout (integers big-endian): version `UInt8` (1), kind `UInt8` (1 response, 2 vary record), then for a response
/// stored-at `Int64` (ms since the epoch), lifetime `Int64` (ms, -1 for ever), status `UInt16`, reason phrase
/// `UInt8` length and bytes, field count `UInt16`, each field as name `UInt16` length and bytes and value `UInt32`
/// length and bytes, and the body as `UInt32` length and bytes; for a vary record, a name count `UInt16` and each
/// name as `UInt16` length and bytes. Nothing may follow.
enum CacheEntry: Sendable {
    case response(CachedResponse)
    case vary([HTTPField.Name])

    static let version: UInt8 = 1
    private static let responseKind: UInt8 = 1
    private static let varyKind: UInt8 = 2

    /// The encoded entry.
    func encoded() -> ByteBuffer {
        switch self {
        case .response(let response): Self.encode(response)
        case .vary(let names): Self.encode(names)
        }
    }

    private static func encode(_ response: CachedResponse) -> ByteBuffer {
        var size = 2 + 8 + 8 + 2 + 1 + response.status.reasonPhrase.utf8.count + 2 + 4 + response.body.readableBytes
        for field in response.headerFields {
            size += 6 + field.name.rawName.utf8.count + field.withUnsafeBytesOfValue { $0.count }
        }
        var buffer = ByteBufferAllocator().buffer(capacity: size)
        buffer.writeInteger(Self.version)
        buffer.writeInteger(Self.responseKind)
        buffer.writeInteger(response.storedAt)
        buffer.writeInteger(response.lifetime ?? -1)
        buffer.writeInteger(UInt16(response.status.code))
        let reason = response.status.reasonPhrase.utf8.prefix(255)
        buffer.writeInteger(UInt8(reason.count))
        buffer.writeBytes(reason)
        buffer.writeInteger(UInt16(clamping: response.headerFields.count))
        for field in response.headerFields.prefix(Int(UInt16.max)) {
            buffer.writeInteger(UInt16(clamping: field.name.rawName.utf8.count))
            buffer.writeString(field.name.rawName)
            field.withUnsafeBytesOfValue { value in
                buffer.writeInteger(UInt32(value.count))
                buffer.writeBytes(value)
            }
        }
        buffer.writeInteger(UInt32(response.body.readableBytes))
        buffer.writeImmutableBuffer(response.body)
        return buffer
    }

    private static func encode(_ names: [HTTPField.Name]) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: 4 + names.reduce(0) { $0 + 2 + $1.canonicalName.utf8.count })
        buffer.writeInteger(Self.version)
        buffer.writeInteger(Self.varyKind)
        buffer.writeInteger(UInt16(clamping: names.count))
        for name in names.prefix(Int(UInt16.max)) {
            buffer.writeInteger(UInt16(name.canonicalName.utf8.count))
            buffer.writeString(name.canonicalName)
        }
        return buffer
    }

    /// Names most responses carry, by their usual spelling, found without validating and lowercasing them again.
    private static let commonNames: [String: HTTPField.Name] = Dictionary(
        uniqueKeysWithValues: [
            HTTPField.Name.contentType, .contentLength, .contentEncoding, .contentLanguage, .cacheControl, .eTag, .lastModified,
            .date, .expires, .vary, .location, .server, .acceptRanges, .accessControlAllowOrigin, .strictTransportSecurity,
            .xContentTypeOptions, .contentSecurityPolicy,
        ].map { ($0.rawName, $0) }
    )

    /// Decodes an entry, checking every length against what is there.
    /// - Returns: The entry, or `nil` when the bytes are truncated, damaged, or of another version.
    static func decode(_ value: ByteBuffer) -> CacheEntry? {
        var buffer = value
        guard buffer.readInteger(as: UInt8.self) == Self.version, let kind = buffer.readInteger(as: UInt8.self) else { return nil }
        let entry: CacheEntry?
        switch kind {
        case Self.responseKind: entry = Self.decodeResponse(&buffer).map(CacheEntry.response)
        case Self.varyKind: entry = Self.decodeVary(&buffer).map(CacheEntry.vary)
        default: entry = nil
        }
        return buffer.readableBytes == 0 ? entry : nil
    }

    private static func decodeResponse(_ buffer: inout ByteBuffer) -> CachedResponse? {
        guard let storedAt = buffer.readInteger(as: Int64.self),
            let lifetime = buffer.readInteger(as: Int64.self), lifetime >= -1,
            let code = buffer.readInteger(as: UInt16.self), (100...999).contains(code),
            let reasonLength = buffer.readInteger(as: UInt8.self),
            let reason = buffer.readString(length: Int(reasonLength)),
            let fieldCount = buffer.readInteger(as: UInt16.self)
        else { return nil }
        var fields = HTTPFields()
        fields.reserveCapacity(Int(fieldCount))
        for _ in 0..<fieldCount {
            guard let nameLength = buffer.readInteger(as: UInt16.self),
                let rawName = buffer.readString(length: Int(nameLength)),
                let name = Self.commonNames[rawName] ?? HTTPField.Name(rawName),
                let valueLength = buffer.readInteger(as: UInt32.self),
                let value = buffer.readSlice(length: Int(valueLength))
            else { return nil }
            fields.append(HTTPField(name: name, value: value.readableBytesView))
        }
        guard let bodyLength = buffer.readInteger(as: UInt32.self), let body = buffer.readSlice(length: Int(bodyLength)) else { return nil }
        return CachedResponse(
            status: HTTPResponse.Status(code: Int(code), reasonPhrase: reason),
            headerFields: fields,
            body: body,
            storedAt: storedAt,
            lifetime: lifetime == -1 ? nil : lifetime
        )
    }

    private static func decodeVary(_ buffer: inout ByteBuffer) -> [HTTPField.Name]? {
        guard let count = buffer.readInteger(as: UInt16.self), count > 0 else { return nil }
        var names: [HTTPField.Name] = []
        names.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let length = buffer.readInteger(as: UInt16.self), let raw = buffer.readString(length: Int(length)),
                let name = HTTPField.Name(raw)
            else { return nil }
            names.append(name)
        }
        return names
    }
}
