public import NIOCore

/// The input checks every store applies, so that every backend rejects the same input with the same error.
public enum StoreValidation {
    /// Checks that a key is non-empty and at most ``StoreLimits/maximumKeyLength`` UTF-8 bytes.
    /// - Throws: ``StoreError/Code/invalidKey``.
    @inlinable
    public static func validateKey(_ key: String) throws(StoreError) {
        let length = key.utf8.count
        guard length > 0, length <= StoreLimits.maximumKeyLength else {
            throw self.invalidKey(key, length: length)
        }
    }

    /// Checks that a namespace name is 1 to ``StoreLimits/maximumNamespaceLength`` ASCII letters, digits, `_` or `-`.
    /// - Throws: ``StoreError/Code/invalidNamespace``.
    public static func validateNamespace(_ name: String) throws(StoreError) {
        let bytes = name.utf8
        let valid =
            !bytes.isEmpty && bytes.count <= StoreLimits.maximumNamespaceLength
            && bytes.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
                    true
                default:
                    false
                }
            }
        guard valid else {
            throw StoreError(
                .invalidNamespace,
                "namespace name \(StoreError.describe(name)) is invalid: use 1 to \(StoreLimits.maximumNamespaceLength) "
                    + "ASCII letters, digits, '_' or '-'"
            )
        }
    }

    /// Checks a time to live and rounds it up to a whole number of milliseconds, the precision stores keep.
    /// - Returns: The duration in milliseconds, at least 1.
    /// - Throws: ``StoreError/Code/invalidExpiry`` for zero, negative or over ``StoreLimits/maximumExpiry``.
    public static func validateExpiry(_ duration: Duration) throws(StoreError) -> Int64 {
        guard duration > .zero, duration <= StoreLimits.maximumExpiry else {
            throw StoreError(
                .invalidExpiry,
                "expiry \(duration) is invalid: it must be positive and at most \(StoreLimits.maximumExpiry); use nil for no expiry"
            )
        }
        return duration.roundedUpToMilliseconds
    }

    /// Checks an optional time to live; `nil` (no expiry) is always valid.
    /// - Returns: The duration in milliseconds, or `nil`.
    /// - Throws: ``StoreError/Code/invalidExpiry``.
    public static func validateExpiry(_ duration: Duration?) throws(StoreError) -> Int64? {
        guard let duration else { return nil }
        return try self.validateExpiry(duration)
    }

    /// Checks everything a write is given: the key, the value's size and the time to live.
    /// - Returns: The time to live in milliseconds, or `nil` for none.
    /// - Throws: ``StoreError/Code/invalidKey``, ``StoreError/Code/valueTooLarge`` or ``StoreError/Code/invalidExpiry``.
    public static func validateWrite(
        key: String,
        value: ByteBuffer,
        expiresIn: Duration?,
        maximumValueSize: Int
    ) throws(StoreError) -> Int64? {
        try self.validateKey(key)
        try self.validateValue(value, maximumSize: maximumValueSize)
        return try self.validateExpiry(expiresIn)
    }

    /// Checks what an update's transform asked to store: the value's size and, for ``StoreUpdate/set(_:expiresIn:)``,
    /// the time to live. The key was checked before the transform ran.
    /// - Returns: The time to live in milliseconds of a `.set` with one; `nil` otherwise.
    /// - Throws: ``StoreError/Code/valueTooLarge`` or ``StoreError/Code/invalidExpiry``.
    public static func validateUpdate(_ update: StoreUpdate, maximumValueSize: Int) throws(StoreError) -> Int64? {
        switch update {
        case .unchanged, .delete:
            return nil
        case .set(let value, let expiresIn):
            try self.validateValue(value, maximumSize: maximumValueSize)
            return try self.validateExpiry(expiresIn)
        case .setKeepingExpiry(let value):
            try self.validateValue(value, maximumSize: maximumValueSize)
            return nil
        }
    }

    /// Checks a value against a store's maximum size.
    /// - Throws: ``StoreError/Code/valueTooLarge``.
    @inlinable
    public static func validateValue(_ value: ByteBuffer, maximumSize: Int) throws(StoreError) {
        guard value.readableBytes <= maximumSize else {
            throw StoreError(.valueTooLarge, "a value of \(value.readableBytes) bytes exceeds the store's limit of \(maximumSize) bytes")
        }
    }

    @usableFromInline
    static func invalidKey(_ key: String, length: Int) -> StoreError {
        if length == 0 {
            return StoreError(.invalidKey, "a key must not be empty")
        }
        return StoreError(
            .invalidKey,
            "key \(StoreError.describe(key)) is \(length) UTF-8 bytes long; the limit is \(StoreLimits.maximumKeyLength)"
        )
    }
}

extension Duration {
    /// The duration in whole seconds, rounded up (a client that waits that long is never early).
    package var roundedUpToSeconds: Int64 {
        let (seconds, attoseconds) = self.components
        return seconds + (attoseconds > 0 ? 1 : 0)
    }

    /// The duration in whole milliseconds, rounded up, for a positive duration.
    package var roundedUpToMilliseconds: Int64 {
        let (seconds, attoseconds) = self.components
        let millisecondInAttoseconds: Int64 = 1_000_000_000_000_000
        let (wholeMilliseconds, remainder) = attoseconds.quotientAndRemainder(dividingBy: millisecondInAttoseconds)
        return seconds * 1000 + wholeMilliseconds + (remainder > 0 ? 1 : 0)
    }
}

extension StoreValidation {
    /// Checks the fields of a record to create: at least one, each name 1 to ``StoreLimits/maximumKeyLength`` UTF-8
    /// bytes.
    /// - Throws: ``StoreError/Code/invalidRecord``.
    public static func validateRecord(_ fields: [String: ByteBuffer]) throws(StoreError) {
        guard !fields.isEmpty else { throw StoreError(.invalidRecord, "a record needs at least one field") }
        for name in fields.keys { try Self.validateFieldName(name) }
    }

    /// Checks changes to merge into a record: every field name, and no field both set and removed.
    /// - Throws: ``StoreError/Code/invalidRecord``, or ``StoreError/Code/invalidExpiry`` for a bad new expiry.
    /// - Returns: The new time to live in milliseconds when the changes reset the expiry to one; `nil` otherwise.
    public static func validateChanges(_ changes: RecordChanges) throws(StoreError) -> Int64? {
        for name in changes.set.keys { try Self.validateFieldName(name) }
        for name in changes.metadataFields { try Self.validateFieldName(name) }
        for name in changes.remove {
            try Self.validateFieldName(name)
            guard changes.set[name] == nil else {
                throw StoreError(.invalidRecord, "the field \(name.debugDescription) is both set and removed")
            }
        }
        guard case .reset(let duration) = changes.expiry else { return nil }
        return try Self.validateExpiry(duration)
    }

    /// Checks the fields one write gives a record, names and values together, against a store's value size (for
    /// stores that keep fields apart, where the whole record is not at hand).
    /// - Throws: ``StoreError/Code/valueTooLarge``.
    public static func validateFieldsSize(_ fields: [String: ByteBuffer], maximumSize: Int) throws(StoreError) {
        var size = 0
        for (name, value) in fields { size += name.utf8.count + value.readableBytes }
        guard size <= maximumSize else {
            throw StoreError(.valueTooLarge, "record fields of \(size) bytes exceed the store's limit of \(maximumSize) bytes")
        }
    }

    static func validateFieldName(_ name: String) throws(StoreError) {
        let length = name.utf8.count
        guard length > 0, length <= StoreLimits.maximumKeyLength else {
            throw StoreError(
                .invalidRecord,
                "a record field name must be 1 to \(StoreLimits.maximumKeyLength) UTF-8 bytes, not \(length)"
            )
        }
    }
}
