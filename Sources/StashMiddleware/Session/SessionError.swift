/// An error a ``Session`` throws: what went wrong (``code``), a message for people, and the error underneath.
public struct SessionError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure, for code that reacts to it.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case invalidKey
            case encodingFailed
            case decodingFailed
            case corruptRecord
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A session key is empty or longer than ``Session/maximumKeyLength`` UTF-8 bytes.
        public static let invalidKey = Self(.invalidKey)
        /// A value does not encode as JSON.
        public static let encodingFailed = Self(.encodingFailed)
        /// A stored value is not of the type asked for.
        public static let decodingFailed = Self(.decodingFailed)
        /// A stored session cannot be read: damaged, or written in a format version this build does not know.
        public static let corruptRecord = Self(.corruptRecord)

        /// The code's name, as in `decodingFailed`.
        public var description: String { self.base.rawValue }
    }

    /// The kind of failure.
    public let code: Code
    /// What went wrong, for logs and people.
    public let message: String
    /// The error that caused this one, if any (an encoding or decoding error).
    public let underlying: (any Error)?

    init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    /// The code, the message and the underlying error, for logs.
    public var description: String {
        if let underlying {
            return "SessionError.\(self.code): \(self.message) (\(underlying))"
        }
        return "SessionError.\(self.code): \(self.message)"
    }
}
