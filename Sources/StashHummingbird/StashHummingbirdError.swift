/// A response the Hummingbird adapter could not hand on: the handler's body broke its own framing, or a middleware
/// returned a streamed response that was not this request's.
public struct StashHummingbirdError: Error, Sendable, CustomStringConvertible {
    private enum Code: Sendable {
        case bodyLongerThanDeclared
        case bodyNotFinished
        case streamedResponseWithoutBody
    }

    private let code: Code
    /// What went wrong.
    public let description: String

    private init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
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
