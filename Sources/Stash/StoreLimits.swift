/// The limits every store applies to its input.
public enum StoreLimits {
    /// The longest key, in UTF-8 bytes.
    public static let maximumKeyLength = 1024
    /// The longest namespace name, in characters (each an ASCII letter, digit, `_` or `-`).
    public static let maximumNamespaceLength = 64
    /// The longest time to live a store accepts (100 years).
    public static let maximumExpiry = Duration.seconds(100 * 365 * 24 * 3600)
    /// The default ``Store/maximumValueSize`` of the built-in stores: 16 MiB.
    public static let defaultMaximumValueSize = 16 * 1024 * 1024
}
