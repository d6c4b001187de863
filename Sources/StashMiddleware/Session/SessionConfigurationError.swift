/// A ``SessionMiddleware`` configuration that cannot work: a cookie attribute browsers would reject or misread, or
/// an expiry out of range.
public struct SessionConfigurationError: Error, Sendable, CustomStringConvertible {
    /// What is wrong with the configuration.
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}
