public import NIOCore

/// A key/value store that sessions, the response cache and the rate limiter keep their state in.
///
/// Values are bytes and durations are `Swift.Duration`. Every store — memory, file, Redis, PostgreSQL or
/// your own — keeps the same contract, which `StashTesting`'s conformance suite checks:
///
/// - an expired key behaves exactly like a missing one for every operation;
/// - keys are non-empty strings of at most ``StoreLimits/maximumKeyLength`` UTF-8 bytes, and any such key
///   is valid, whatever characters it holds; keys are compared by their UTF-8 bytes, not by Unicode canonical
///   equivalence (`"caf\u{E9}"` and `"cafe\u{301}"` are two keys), in every store;
/// - an expiry is a positive duration of at most ``StoreLimits/maximumExpiry``, kept to the millisecond;
///   `nil` means "never expires", never zero or a negative duration;
/// - bad input throws a ``StoreError`` and changes nothing.
public protocol Store: Sendable {
    /// The largest value, in bytes, this store accepts.
    var maximumValueSize: Int { get }

    /// What kind of store this is in traces, OpenTelemetry's `db.system.name` (``TracingStore``): `redis`,
    /// `postgresql`, `stash.memory`, `stash.file`. By default the type's name.
    var traceSystemName: String { get }

    /// Returns the value stored for a key.
    /// - Returns: The value, or `nil` when the key is missing or has expired.
    func get(_ key: String) async throws -> ByteBuffer?

    /// Returns the value stored for a key and, when the key has an expiry, resets it atomically.
    ///
    /// A key stored without an expiry keeps having none: renewing never adds one.
    /// - Parameters:
    ///   - key: The key to read.
    ///   - duration: The new time to live, counted from now.
    /// - Returns: The value, or `nil` when the key is missing or has expired.
    func get(_ key: String, renewingFor duration: Duration) async throws -> ByteBuffer?

    /// Stores a value, replacing any value and any expiry the key had.
    /// - Parameters:
    ///   - key: The key to write.
    ///   - value: The bytes to store.
    ///   - expiresIn: The time to live, or `nil` to keep the value until it is deleted.
    func set(_ key: String, value: ByteBuffer, expiresIn: Duration?) async throws

    /// Stores a value only when the key is missing or has expired.
    /// - Returns: `true` when the value was stored, `false` when a live value already existed (it is left as it was).
    func insert(_ key: String, value: ByteBuffer, expiresIn: Duration?) async throws -> Bool

    /// Removes a key; removing a missing key is not an error.
    func delete(_ key: String) async throws

    /// Removes every key of this namespace and of its child namespaces, and nothing else.
    func deleteAll() async throws

    /// Returns whether a live (stored and not expired) value exists for a key.
    func exists(_ key: String) async throws -> Bool

    /// Returns whether a key is missing, never expires, or how long it has left (to the millisecond).
    func expiry(of key: String) async throws -> KeyExpiry

    /// Removes the expired entries of this namespace and of its child namespaces.
    func deleteExpired() async throws

    /// Adds to an integer counter atomically, creating it when it is missing or expired.
    ///
    /// A counter is stored as its decimal digits (as Redis does), so `get` returns them. The expiry is applied
    /// only when the counter is created, never when it is incremented: a fixed window.
    /// - Parameters:
    ///   - key: The counter's key.
    ///   - amount: What to add; may be negative.
    ///   - initialValue: The value a new counter starts from, before `amount` is added.
    ///   - expiresIn: The time to live of a new counter, or `nil` for none.
    /// - Returns: The counter's value after the increment.
    /// - Throws: ``StoreError/Code/conversionFailed`` when the stored value is not an integer or the result overflows.
    func increment(_ key: String, by amount: Int64, initialValue: Int64, expiresIn: Duration?) async throws -> Int64

    /// Reads, transforms and writes back one value atomically.
    ///
    /// Concurrent updates of one key, from many tasks or many processes sharing the store, lose nothing. A store
    /// may run `transform` more than once (when it retries after a conflicting write), so it must not have side
    /// effects; it may throw to abandon the update, leaving the value as it was.
    /// - Parameters:
    ///   - key: The key to update.
    ///   - transform: Given the current value (`nil` when missing or expired), says what to store.
    /// - Returns: The value stored after the update, or `nil` when there is none.
    func update(
        _ key: String,
        _ transform: @escaping @Sendable (ByteBuffer?) throws -> StoreUpdate
    ) async throws -> ByteBuffer?

    /// Reads a record: a value made of named fields, which ``mergeRecord(_:_:)`` changes in one atomic step.
    ///
    /// A record key is read and written only by the record operations; `delete`, `exists`, the expiry query,
    /// `deleteAll`, key listing and `deleteExpired` treat it as any key. The built-in stores keep a record natively
    /// (a hash on Redis), so `get` on a record key of another store is not the same bytes.
    /// - Parameters:
    ///   - key: The record's key.
    ///   - duration: When given and the record has an expiry, the expiry is reset to this from now, in the same atomic
    ///     step (as ``get(_:renewingFor:)`` does); a record without an expiry keeps having none.
    /// - Returns: The record's fields, or `nil` when it is missing or expired.
    /// - Throws: ``StoreError/Code/conversionFailed`` when the key holds a value that is not a record.
    func record(_ key: String, renewingFor duration: Duration?) async throws -> [String: ByteBuffer]?

    /// Creates a record only when the key is missing or expired.
    /// - Returns: `true` when the record was stored, `false` when a live value already existed.
    /// - Throws: ``StoreError/Code/invalidRecord`` for no field or a bad field name; ``StoreError/Code/valueTooLarge``
    ///   when the record exceeds the store's value size.
    func insertRecord(_ key: String, fields: [String: ByteBuffer], expiresIn: Duration?) async throws -> Bool

    /// Sets and removes fields of an existing record, and keeps or resets its expiry, in one atomic step that never
    /// retries: concurrent merges of different fields, from many tasks and processes, all land.
    ///
    /// A missing or expired record is not made: nothing is written. Removing the last field deletes the record.
    /// - Throws: ``StoreError/Code/invalidRecord`` for a bad field name or a field both set and removed;
    ///   ``StoreError/Code/conversionFailed`` when the key holds a value that is not a record.
    func mergeRecord(_ key: String, _ changes: RecordChanges) async throws -> RecordMergeResult

    /// Reads and deletes a record in one atomic step: of concurrent takes, one gets the fields, the others `nil`.
    /// - Returns: The record's fields, or `nil` when it was missing or expired.
    func takeRecord(_ key: String) async throws -> [String: ByteBuffer]?

    /// Decides whether one request is admitted by a rate limit, and counts it if so — or adds a penalty or reward,
    /// refunds an admitted request, or blocks the key (``RateLimitOperation``) — in one atomic step: requests from
    /// every task and every process sharing the store, at the same moment, admit exactly the limit.
    ///
    /// The state lives under `key` (see ``RateLimitRule/decide(state:now:operation:)`` for its form) with a time to
    /// live, and time is the store's: the server's clock for Redis and PostgreSQL. A default implementation runs
    /// ``RateLimitRule/decide(state:now:operation:)`` inside ``update(_:_:)`` with the system's wall clock.
    /// - Throws: ``StoreError/Code/invalidKey``; ``StoreError/Code/invalidConfiguration`` for an operation the rule
    ///   cannot take (``RateLimitRule/validate(_:)``); or what the store throws when it cannot be reached.
    func rateLimit(_ key: String, rule: RateLimitRule, _ operation: RateLimitOperation) async throws -> RateLimitDecision

    /// Lists the live keys of this namespace (not of its children), lazily.
    /// - Parameter prefix: Only keys starting with it are listed; the empty string lists every key.
    func keys(withPrefix prefix: String) -> StoreKeys

    /// Returns a child store whose keys can never collide with this store's or a sibling's.
    ///
    /// The child shares this store's storage (memory, directory, connection pool or table).
    /// - Parameter name: The child's name: 1 to 64 ASCII letters, digits, `_` or `-`.
    /// - Throws: ``StoreError/Code/invalidNamespace`` for any other name.
    func withNamespace(_ name: String) throws -> Self
}
