public import NIOCore

/// What ``Store/update(_:_:)`` should do with a key, as decided by its transform.
public enum StoreUpdate: Sendable {
    /// Leave the key as it is; nothing is written.
    case unchanged
    /// Remove the key.
    case delete
    /// Store a value with a new expiry (`nil`: never expires), as ``Store/set(_:value:expiresIn:)`` does.
    case set(ByteBuffer, expiresIn: Duration?)
    /// Store a value and keep the key's remaining expiry; a key that did not exist gets none.
    case setKeepingExpiry(ByteBuffer)
}
