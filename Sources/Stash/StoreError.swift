/// An error thrown by a store: what went wrong (``code``), a message for people, and the error underneath, if any.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure, for code that reacts to it.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case invalidKey
            case invalidNamespace
            case invalidExpiry
            case valueTooLarge
            case alreadyExists
            case unavailable
            case timedOut
            case corruptEntry
            case conversionFailed
            case ioFailure
            case corruptSnapshot
            case unsupportedSnapshotVersion
            case serverError
            case authenticationFailed
            case protocolError
            case invalidConfiguration
            case invalidRecord
            case tlsFailed
            case computationFailed
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The key is empty or longer than ``StoreLimits/maximumKeyLength`` UTF-8 bytes.
        public static let invalidKey = Self(.invalidKey)
        /// The namespace name is empty, too long, or holds a character other than an ASCII letter, digit, `_` or `-`.
        public static let invalidNamespace = Self(.invalidNamespace)
        /// The expiry is zero, negative, or longer than ``StoreLimits/maximumExpiry``.
        public static let invalidExpiry = Self(.invalidExpiry)
        /// The value is larger than the store's ``Store/maximumValueSize`` (or its byte bound).
        public static let valueTooLarge = Self(.valueTooLarge)
        /// A live value already exists for the key (from ``Store/create(_:value:expiresIn:)``).
        public static let alreadyExists = Self(.alreadyExists)
        /// The store's server or medium cannot be reached.
        public static let unavailable = Self(.unavailable)
        /// The store did not answer within its timeout.
        public static let timedOut = Self(.timedOut)
        /// A stored entry cannot be read: truncated, foreign or damaged. Other keys are unaffected.
        public static let corruptEntry = Self(.corruptEntry)
        /// A stored value is not of the type asked for (a `Codable` value, or an integer counter).
        public static let conversionFailed = Self(.conversionFailed)
        /// Reading or writing the store's medium failed (a file system error, for instance).
        public static let ioFailure = Self(.ioFailure)
        /// The store's server answered with an error; ``StoreError/message`` carries the server's message.
        public static let serverError = Self(.serverError)
        /// The store's server refused the credentials it was given.
        public static let authenticationFailed = Self(.authenticationFailed)
        /// The store's server sent something its protocol does not allow; the connection is closed.
        public static let protocolError = Self(.protocolError)
        /// A store's configuration (a URL, a setting) is malformed or out of range.
        public static let invalidConfiguration = Self(.invalidConfiguration)
        /// A record operation was given no field to store, a field name that is empty or longer than
        /// ``StoreLimits/maximumKeyLength`` UTF-8 bytes, or a field both to set and to remove.
        public static let invalidRecord = Self(.invalidRecord)
        /// A secure connection to the store's server could not be made: its certificate is not trusted or not for its
        /// name, it does not speak TLS on that port, or it refused the client's certificate (or its absence).
        public static let tlsFailed = Self(.tlsFailed)
        /// A value a ``ValueCache`` computes could not be computed: the computation threw (its error is
        /// ``StoreError/underlying``). Nothing was stored.
        public static let computationFailed = Self(.computationFailed)
        /// A ``Persister`` snapshot cannot be read: empty, truncated, damaged or not a snapshot at all.
        public static let corruptSnapshot = Self(.corruptSnapshot)
        /// A ``Persister`` snapshot was written in a format version this build does not know.
        public static let unsupportedSnapshotVersion = Self(.unsupportedSnapshotVersion)

        /// The code's name, as in `invalidKey`.
        public var description: String { self.base.rawValue }
    }

    /// The kind of failure.
    public let code: Code
    /// What went wrong, for logs and people.
    public let message: String
    /// The error that caused this one, if any (a system error, a decoding error, a server reply).
    public let underlying: (any Error)?

    /// Creates an error; stores and their tests use it, applications rarely need to.
    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    /// The code, the message and the underlying error, for logs.
    public var description: String {
        if let underlying {
            return "StoreError.\(self.code): \(self.message) (\(underlying))"
        }
        return "StoreError.\(self.code): \(self.message)"
    }
}

extension StoreError {
    package static func alreadyExists(key: String) -> Self {
        .init(.alreadyExists, "a value already exists for key \(StoreError.describe(key))")
    }

    package static func corruptEntry(key: String, _ reason: String, underlying: (any Error)? = nil) -> Self {
        .init(.corruptEntry, "the entry for key \(StoreError.describe(key)) is corrupt: \(reason)", underlying: underlying)
    }

    package static func notAnInteger(key: String) -> Self {
        .init(.conversionFailed, "the value of key \(StoreError.describe(key)) is not a decimal 64-bit integer")
    }

    package static func overflow(key: String) -> Self {
        .init(.conversionFailed, "incrementing key \(StoreError.describe(key)) overflows a 64-bit integer")
    }

    /// Quotes a key for a message, cut short so a 1 KiB key does not flood a log line.
    package static func describe(_ key: String) -> String {
        let prefix = key.unicodeScalars.prefix(64)
        let shown = String(String.UnicodeScalarView(prefix)).debugDescription
        return prefix.count < key.unicodeScalars.count ? "\(shown)…" : shown
    }
}
