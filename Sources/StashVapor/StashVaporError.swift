/// A response the Vapor adapter could not hand on: a middleware returned a streamed response that was not this
/// request's.
public struct StashVaporError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure, for code that reacts to it.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case streamedResponseWithoutBody
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A middleware returned a streamed response that did not come from this request's handler.
        public static let streamedResponseWithoutBody = Self(.streamedResponseWithoutBody)

        /// The code's name, as in `streamedResponseWithoutBody`.
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
        "StashVaporError.\(self.code): \(self.message)"
    }

    static var streamedResponseWithoutBody: Self {
        Self(
            .streamedResponseWithoutBody,
            "the middleware returned a streamed response that did not come from this request's handler, so its body is gone"
        )
    }
}
