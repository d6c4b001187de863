import Foundation
import NIOCore
import NIOFoundationCompat
import Stash

/// The session of one request: typed values kept on the server under a random id that travels in a cookie.
///
/// ``SessionMiddleware`` puts it in ``StashRequest/session`` before the handler runs and saves what the handler
/// changed when the handler returns. Values are `Codable`, stored as JSON, one document per key:
///
/// ```swift
/// guard let session = request.session else { ... }
/// let visits = try session.value(forKey: "visits", as: Int.self) ?? 0
/// try session.setValue(visits + 1, forKey: "visits")
/// ```
///
/// A session exists in the store only once a value is set: reading an empty session, or never touching it, costs
/// no store write and sends no cookie. Only the keys a request sets or removes are saved, merged onto what the store
/// holds by then, so two requests of one session that change different keys both keep their change. Changes made
/// after the handler has returned are not saved.
///
/// Touching the session in any way — reading its ``id`` or a value, even of an empty session, or changing it — makes
/// the response depend on who asks: ``SessionMiddleware`` then marks it `Cache-Control: private` and `Vary: Cookie`,
/// and ``ResponseCache`` never stores it, in whichever order the two run. A handler that never touches the session
/// keeps its response cacheable.
public final class Session: Sendable {
    /// The longest session key, in UTF-8 bytes.
    public static let maximumKeyLength = 1024

    let state: Locked<SessionState>

    init(state: SessionState) {
        self.state = Locked(state)
    }

    /// Whether the handler read or changed the session: a cache must not store its response.
    var isAccessed: Bool {
        self.state.withLock { $0.isAccessed }
    }

    /// Runs `body` on the state, noting that the session was accessed: every public member goes through here.
    func access<Value>(_ body: (inout SessionState) -> Value) -> Value {
        self.state.withLock { state in
            state.isAccessed = true
            return body(&state)
        }
    }

    /// The session's id: `nil` until the session exists, that is until it was loaded from the request's cookie or a
    /// value was set. After ``regenerateID()`` it is the new id, the one the response's cookie will carry.
    public var id: String? {
        self.access { $0.id }
    }

    /// Whether the session holds no value (and is tied to no user).
    public var isEmpty: Bool {
        self.access { $0.isEmpty }
    }

    /// Returns the value stored for a key, decoded from JSON.
    /// - Parameters:
    ///   - key: The value's key.
    ///   - type: The type to decode.
    /// - Returns: The value, or `nil` when the session has none for the key.
    /// - Throws: ``StashMiddlewareError/Code/decodingFailed`` when the stored value is not a `Value`.
    public func value<Value: Decodable>(forKey key: String, as type: Value.Type = Value.self) throws(StashMiddlewareError) -> Value? {
        guard let buffer = self.access({ $0.value(forKey: key) }) else { return nil }
        do {
            return try SessionValueCoding.decode(type, from: buffer)
        } catch {
            throw StashMiddlewareError(
                .decodingFailed,
                "the session value for key \(StoreError.describe(key)) is not a \(Value.self)",
                underlying: error
            )
        }
    }

    /// Stores a value for a key, encoded as JSON; the session is saved when the response goes out.
    /// - Throws: ``StashMiddlewareError/Code/invalidSessionKey`` for an empty key, one longer than ``maximumKeyLength``
    ///   bytes or one starting with a NUL character (reserved for the session's own metadata),
    ///   ``StashMiddlewareError/Code/encodingFailed`` when the value does not encode.
    public func setValue<Value: Encodable>(_ value: Value, forKey key: String) throws(StashMiddlewareError) {
        guard !key.isEmpty, key.utf8.count <= Self.maximumKeyLength else {
            throw StashMiddlewareError(.invalidSessionKey, "a session key must be 1 to \(Self.maximumKeyLength) UTF-8 bytes, not \(key.utf8.count)")
        }
        guard key.utf8.first != 0 else {
            throw StashMiddlewareError(.invalidSessionKey, "a session key must not start with a NUL character: Stash keeps its metadata there")
        }
        let buffer: ByteBuffer
        do {
            buffer = try SessionValueCoding.encode(value)
        } catch {
            throw StashMiddlewareError(
                .encodingFailed,
                "a \(Value.self) for session key \(StoreError.describe(key)) does not encode",
                underlying: error
            )
        }
        self.access { $0.setValue(buffer, forKey: key) }
    }

    /// Removes the value of a key; removing a key the session does not have changes nothing.
    public func removeValue(forKey key: String) {
        self.access { $0.removeValue(forKey: key) }
    }

    /// Moves the session to a new id, deleting the old one, when the response goes out. Call it when the user's
    /// privileges change, at login above all, so an id planted or seen before then is worthless (session fixation).
    /// A session that does not exist yet gets a fresh id anyway when a value is set.
    public func regenerateID() {
        self.access { $0.regenerateID() }
    }

    /// Deletes the session when the response goes out, and tells the browser to drop its cookie (logout). A value set
    /// after this starts a new session under a fresh id. A session tied to a user leaves the user's index.
    public func destroy() {
        self.access { $0.destroy() }
    }

    /// Ties the session to a user at login: the session moves to a new id (against fixation, as ``regenerateID()``),
    /// keeps its values, and joins the user's index in the store, so that
    /// ``SessionMiddleware/endSessions(ofUser:except:)`` ends it with every other session of that user — after a
    /// password change, or "log out everywhere" (Django's `update_session_auth_hash`).
    ///
    /// ```swift
    /// guard try await users.verify(name, password) else { return .unauthorized }
    /// try session.authenticate(as: user.id)
    /// ```
    /// - Parameter userID: The user's id, 1 to 1,024 UTF-8 bytes; the store keeps only its SHA-256 in the index's key.
    /// - Throws: ``StashMiddlewareError/Code/invalidConfiguration`` for an empty or longer id.
    public func authenticate(as userID: String) throws(StashMiddlewareError) {
        guard (1...Self.maximumKeyLength).contains(userID.utf8.count) else {
            throw StashMiddlewareError.invalidConfiguration("a user id is 1 to \(Self.maximumKeyLength) UTF-8 bytes, not \(userID.utf8.count)")
        }
        self.access { $0.authenticate(as: userID) }
    }

    /// The user the session is tied to by ``authenticate(as:)``, or `nil`.
    public var userID: String? {
        self.access { $0.userID }
    }
}
