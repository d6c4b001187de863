import HTTPTypes
import Logging
import Metrics
import NIOCore
import Stash

extension ResponseCache {
    /// What the store holds for a request.
    enum Lookup: Sendable {
        /// A response, under `key`.
        case found(CachedResponse, key: String)
        /// Nothing usable under `key` (the URL's, or its variant's when a vary record names the fields), for
        /// `reason`: `uri-miss` or `vary-miss`.
        case missing(key: String, reason: CacheStatus.Forward)
    }

    /// Reads the entry a request selects: one store read for a URL whose response does not vary, two (the vary
    /// record, then the variant) for one that does. A damaged entry is a miss.
    /// - Throws: What the store throws.
    func lookUp(base: String, request: StashRequest) async throws -> Lookup {
        guard let value = try await self.store.get(base) else { return .missing(key: base, reason: .uriMiss) }
        switch self.decode(value, key: base) {
        case .none:
            return .missing(key: base, reason: .uriMiss)
        case .response(let entry):
            return .found(entry, key: base)
        case .vary(let names):
            let key = CacheKeys.variantKey(base: base, names: names, request: request.head.headerFields)
            guard let value = try await self.store.get(key) else { return .missing(key: key, reason: .varyMiss) }
            guard case .response(let entry) = self.decode(value, key: key) else { return .missing(key: key, reason: .varyMiss) }
            return .found(entry, key: key)
        }
    }

    /// Decodes a stored entry — or finds it decoded already from the same bytes — logging and counting one that
    /// cannot be decoded.
    private func decode(_ value: ByteBuffer, key: String) -> CacheEntry? {
        if let entry = self.decodedEntries.entry(forKey: key, stored: value) { return entry }
        if let entry = CacheEntry.decode(value) {
            self.decodedEntries.keep(entry, forKey: key, stored: value)
            return entry
        }
        self.metrics.corruptEntry.increment()
        self.configuration.logger.debug(
            "response cache entry cannot be decoded; treated as a miss",
            metadata: ["key": "\(key)", "bytes": "\(value.readableBytes)"]
        )
        return nil
    }

    /// The fields a 304 repeats from the response it stands for (RFC 9110 §15.4.5), besides the cache's own.
    static let notModifiedFields: [HTTPField.Name] = [.cacheControl, .contentLocation, .date, .eTag, .expires, .vary, .age, .cacheStatus]

    /// Whether a request carries a precondition the cache answers (one pass over its fields, on every hit).
    private static func isConditional(_ fields: HTTPFields) -> Bool {
        fields.contains { $0.name == .ifNoneMatch || $0.name == .ifModifiedSince }
    }

    /// Whether the client's copy is the stored one (RFC 9110 §13.2.2): `If-None-Match` decides when the request has
    /// one (against the stored `ETag`); otherwise `If-Modified-Since`, when it is a valid HTTP date and the stored
    /// response has a valid `Last-Modified` no later than it.
    static func clientHasCurrentCopy(_ fields: HTTPFields, entry: CachedResponse) -> Bool {
        if fields.contains(.ifNoneMatch) {
            guard let tag = entry.headerFields.value(of: .eTag) else { return false }
            return EntityTagMatch.clientHasCurrentCopy(fields, storedETag: tag)
        }
        let since = fields[values: .ifModifiedSince]
        // More than one member makes the field invalid, and it is then ignored.
        guard since.count == 1, let date = HTTPDate.seconds(since[0]),
            let lastModified = entry.headerFields.value(of: .lastModified).flatMap({ HTTPDate.seconds($0) })
        else { return false }
        return lastModified <= date
    }

    /// Replays a stored response to a request: with `Age` and `Cache-Status` (`status`, serialized), without a body
    /// for `HEAD`, and as a 304 when the request's `If-None-Match` names the stored `ETag` or, without one, its
    /// `If-Modified-Since` is no earlier than the stored `Last-Modified`.
    func serve(_ entry: CachedResponse, to request: StashRequest, isHead: Bool, now: Int64, status: String) -> StashResponse {
        var head = entry.head
        // One copy of the shared stored fields, with room for the two a hit adds.
        head.headerFields.reserveCapacity(head.headerFields.count + 2)
        head.headerFields.append(HTTPField(name: .age, value: String(entry.age(at: now) / 1000)))
        head.headerFields.append(HTTPField(name: .cacheStatus, value: status))
        // A stored response keeps its tags in their field; only a cache that reads tags has any to take off.
        if let tagField = self.configuration.tagField { head.headerFields[tagField] = nil }
        if entry.status.kind == .successful, Self.isConditional(request.head.headerFields),
            Self.clientHasCurrentCopy(request.head.headerFields, entry: entry)
        {
            let kept = HTTPFields(head.headerFields.filter { Self.notModifiedFields.contains($0.name) })
            return StashResponse(head: HTTPResponse(status: .notModified, headerFields: kept))
        }
        return StashResponse(head: head, body: isHead ? ByteBuffer() : entry.body)
    }
}
