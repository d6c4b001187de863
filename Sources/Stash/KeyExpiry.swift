/// What a store knows about a key's expiry: three distinct answers.
public enum KeyExpiry: Sendable, Hashable {
    /// The key is missing or has expired.
    case missing
    /// The key exists and never expires.
    case never
    /// The key exists and expires after this duration (rounded up to the millisecond, so never zero).
    case expiresIn(Duration)
}
