/// A response the Hummingbird adapter could not hand on: the handler's body broke its own framing, or a middleware
/// returned a streamed response that was not this request's.
public struct StashHummingbirdError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure, for code that reacts to it.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case bodyLongerThanDeclared
            case bodyNotFinished
            case streamedResponseWithoutBody
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The handler's response body wrote more bytes than its `Content-Length` declared.
        public static let bodyLongerThanDeclared = Self(.bodyLongerThanDeclared)
        /// The handler's response body returned without finishing.
        public static let bodyNotFinished = Self(.bodyNotFinished)
        /// A middleware returned a streamed response that did not come from this request's handler.
        public static let streamedResponseWithoutBody = Self(.streamedResponseWithoutBody)

        /// The code's name, as in `bodyNotFinished`.
        public var description: String { self.base.rawValue }
    }

    /// The kind of failure.
    public let code: Code
    /// What went wrong, for logs and people.
    public let message: String

    private init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The code and the message, for logs.
    public var description: String {
        "StashHummingbirdError.\(self.code): \(self.message)"
    }

    static func bodyLongerThanDeclared(_ length: Int) -> Self {
        Self(.bodyLongerThanDeclared, "the response body wrote more than its declared length of \(length) bytes")
    }

    static var bodyNotFinished: Self {
        Self(.bodyNotFinished, "the response body returned without finishing")
    }

    static var streamedResponseWithoutBody: Self {
        Self(
            .streamedResponseWithoutBody,
            "the middleware returned a streamed response that did not come from this request's handler, so its body is gone"
        )
    }
}
