import NIOCore
import Stash

/// A session as the store keeps it: its values (each a JSON document) and when its expiry was last renewed.
///
/// Stored as a record of the store (see ``/Stash/Store/mergeRecord(_:_:)``): a field per value, named by its key, and
/// the metadata fields ``renewedAtField`` and ``createdAtField`` with the renewal and creation times (`Int64`,
/// big-endian), so that a request's changes are merged by the store in one atomic step.
///
/// Sessions written by Stash 0.x before records were one value in a compact, versioned binary encoding, which
/// ``init(decoding:)`` still reads: such a session is saved in that form until it ends or its id is regenerated
/// (when it moves into a record). Version 1: the version byte, the renewal time (milliseconds since the Unix epoch, `Int64`), the number of values
/// (`UInt32`), then each value as its key's length (`UInt32`), the key in UTF-8, the value's length (`UInt32`) and
/// the value, keys in ascending order so equal sessions encode equally. Everything is big-endian.
struct SessionRecord: Equatable, Sendable {
    static let version: UInt8 = 1

    /// The values by key, each the JSON encoding of what the handler stored.
    var values: [String: ByteBuffer]
    /// When the session's expiry was last set in full (created, renewed by sliding expiry), in milliseconds since
    /// the Unix epoch.
    var renewedAt: Int64
    /// When the session was created, in milliseconds since the Unix epoch; `nil` for one stored before Stash kept it
    /// (it then counts from its last renewal).
    var createdAt: Int64?
    /// The user the session is tied to (``Session/authenticate(as:)``), kept in ``userField``; `nil` for none.
    var userID: String?

    init(values: [String: ByteBuffer], renewedAt: Int64, createdAt: Int64? = nil, userID: String? = nil) {
        self.values = values
        self.renewedAt = renewedAt
        self.createdAt = createdAt
        self.userID = userID
    }

    /// When the session began, as far as its record tells: its creation, or else its last renewal.
    var startedAt: Int64 { self.createdAt ?? self.renewedAt }

    /// Decodes a stored record.
    /// - Throws: ``StashMiddlewareError/Code/corruptSession`` for anything but a whole, well-formed version 1 record.
    init(decoding stored: ByteBuffer) throws(StashMiddlewareError) {
        var buffer = stored
        guard let version = buffer.readInteger(as: UInt8.self) else { throw Self.corrupt("it is empty") }
        guard version == Self.version else { throw Self.corrupt("its format version \(version) is unknown") }
        guard let renewedAt = buffer.readInteger(as: Int64.self) else { throw Self.corrupt("its header is truncated") }
        do {
            self.values = try StoreRecordEncoding.read(from: &buffer)
        } catch {
            throw Self.corrupt(error.reason)
        }
        self.renewedAt = renewedAt
    }

    /// The record's stored form.
    func encoded() -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: 9 + StoreRecordEncoding.size(of: self.values))
        buffer.writeInteger(Self.version)
        buffer.writeInteger(self.renewedAt)
        StoreRecordEncoding.write(self.values, to: &buffer)
        return buffer
    }

    /// The record field holding the renewal time. Session keys cannot start with a NUL character, so no value can
    /// take its name.
    static let renewedAtField = "\u{0}renewedAt"
    /// The record field holding the creation time (`Int64`, big-endian), kept across renewals and regenerated ids.
    static let createdAtField = "\u{0}createdAt"
    /// The record field holding the id of the user the session is tied to, in UTF-8: content, not metadata — a
    /// session that holds only its user is a session.
    static let userField = "\u{0}user"
    /// The record's metadata fields, for ``/Stash/RecordChanges/metadataFields``: made once, not on every save.
    static let metadataFields: Set<String> = [renewedAtField, createdAtField]

    /// Reads a session from the fields of its record.
    /// - Throws: ``StashMiddlewareError/Code/corruptSession`` when the renewal time is missing or malformed.
    init(fields: consuming [String: ByteBuffer]) throws(StashMiddlewareError) {
        // Consumed, so the renewal field is removed from the decoded dictionary itself, not from a copy.
        var values = fields
        guard var renewal = values.removeValue(forKey: Self.renewedAtField),
            let renewedAt = renewal.readInteger(as: Int64.self), renewal.readableBytes == 0
        else { throw Self.corrupt("its renewal time is missing or malformed") }
        if var creation = values.removeValue(forKey: Self.createdAtField) {
            guard let createdAt = creation.readInteger(as: Int64.self), creation.readableBytes == 0 else {
                throw Self.corrupt("its creation time is malformed")
            }
            self.createdAt = createdAt
        } else {
            self.createdAt = nil
        }
        self.userID = values.removeValue(forKey: Self.userField).map { String(buffer: $0) }
        self.values = values
        self.renewedAt = renewedAt
    }

    /// The fields of the session's record: its values and its renewal time.
    var fields: [String: ByteBuffer] {
        var fields = self.values
        fields[Self.renewedAtField] = Self.renewal(self.renewedAt)
        if let createdAt = self.createdAt { fields[Self.createdAtField] = Self.renewal(createdAt) }
        if let userID = self.userID { fields[Self.userField] = ByteBuffer(string: userID) }
        return fields
    }

    /// The value of ``renewedAtField`` for a renewal time (and of ``createdAtField`` for a creation time).
    static func renewal(_ renewedAt: Int64) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: 8)
        buffer.writeInteger(renewedAt)
        return buffer
    }

    /// Applies one request's changes: a value sets its key, `nil` removes it.
    mutating func apply(_ changes: RecordChanges) {
        changes.apply(to: &self.values)
    }

    private static func corrupt(_ reason: String) -> StashMiddlewareError {
        StashMiddlewareError(.corruptSession, "the stored session is corrupt: \(reason)")
    }
}
