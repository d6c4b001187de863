public import NIOCore

/// What ``Store/mergeRecord(_:_:)`` applies to a record, atomically: fields to set, fields to remove, and what
/// becomes of the record's expiry.
public struct RecordChanges: Sendable, Equatable {
    /// What becomes of the record's expiry when the changes are applied.
    public enum Expiry: Sendable, Equatable {
        /// The record keeps its remaining expiry (or none).
        case keep
        /// The record's expiry is set anew: this time to live from now, or `nil` for none.
        case reset(Duration?)
    }

    /// The fields to set, each replacing any value the field had.
    public var set: [String: ByteBuffer]
    /// The fields to remove; a field that is missing is no error.
    public var remove: Set<String>
    /// What the merge does to the record's lifetime: keeps it, or sets a new one.
    public var expiry: Expiry
    /// Fields that describe the record rather than hold its content (a timestamp, say): a merge that leaves only
    /// these deletes the record, as removing the last field does.
    public var metadataFields: Set<String>

    /// Creates changes. A field named in both `set` and `remove` is an invalid argument of the merge.
    public init(set: [String: ByteBuffer] = [:], remove: Set<String> = [], expiry: Expiry = .keep, metadataFields: Set<String> = []) {
        self.set = set
        self.remove = remove
        self.expiry = expiry
        self.metadataFields = metadataFields
    }

    /// Whether a record with these fields holds content: a field other than the ``metadataFields``.
    public func holdsContent(_ fields: [String: ByteBuffer]) -> Bool {
        fields.keys.contains { !self.metadataFields.contains($0) }
    }

    /// Applies the changes to a record's fields: removes, then sets.
    public func apply(to fields: inout [String: ByteBuffer]) {
        for field in self.remove {
            fields[field] = nil
        }
        for (field, value) in self.set {
            fields[field] = value
        }
    }
}

/// What ``Store/mergeRecord(_:_:)`` came to.
public enum RecordMergeResult: Sendable, Equatable {
    /// The record was missing or expired: nothing was written, and no record was made.
    case missing
    /// The changes were applied; the record holds at least one field.
    case merged
    /// The changes removed the record's last field (or its last field but ``RecordChanges/metadataFields``), so the
    /// record was deleted.
    case deleted
}
