/// An error the middleware throws: what went wrong (``code``), a message for people, and the error underneath.
///
/// Configuration errors (``Code/invalidConfiguration``) come from the initializers of a configuration that cannot
/// work, such as a cookie attribute browsers reject or a trusted proxy that is not an address; the others come from
/// a ``Session``'s values.
public struct StashMiddlewareError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure, for code that reacts to it.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case invalidConfiguration
            case invalidSessionKey
            case encodingFailed
            case decodingFailed
            case corruptSession
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A middleware configuration cannot work: a cookie attribute browsers would reject or misread, an expiry
        /// out of range, a trusted proxy that is not an address or range, a bad or repeated policy name.
        public static let invalidConfiguration = Self(.invalidConfiguration)
        /// A session key is empty or longer than ``Session/maximumKeyLength`` UTF-8 bytes.
        public static let invalidSessionKey = Self(.invalidSessionKey)
        /// A session value does not encode as JSON.
        public static let encodingFailed = Self(.encodingFailed)
        /// A stored session value is not of the type asked for.
        public static let decodingFailed = Self(.decodingFailed)
        /// A stored session cannot be read: damaged, or written in a format version this build does not know.
        public static let corruptSession = Self(.corruptSession)

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

    /// A configuration that cannot work, for the reason given.
    static func invalidConfiguration(_ message: String) -> Self {
        Self(.invalidConfiguration, message)
    }

    /// The code, the message and the underlying error, for logs.
    public var description: String {
        if let underlying {
            return "StashMiddlewareError.\(self.code): \(self.message) (\(underlying))"
        }
        return "StashMiddlewareError.\(self.code): \(self.message)"
    }
}
