import NIOCore
import Stash

/// What one request knows and did to its session: the record it loaded, and its changes, kept apart so that saving
/// merges only the changes onto whatever the store holds by then.
struct SessionState: Sendable {
    /// The id the request's cookie named, when the store knew it.
    let loadedID: String?
    /// The store key the session was loaded from: the hash of ``loadedID``, or the id itself for a session stored by
    /// a release before keys were hashed (it stays there until it ends or its id is regenerated).
    let loadedKey: String?
    /// The record loaded under ``loadedID``.
    var loaded: SessionRecord?
    /// The user the loaded session was tied to: its key leaves that user's index when the session is deleted or
    /// moves.
    let loadedUser: String?
    /// Whether the loaded session is stored in the encoding of Stash 0.x before records (one value, not a record): it
    /// is saved in that form.
    let isLegacy: Bool
    /// The session's id now: ``loadedID``, a fresh id once a new session is written to, or a regenerated one.
    var id: String?
    /// This request's changes: the keys it set (to a value other than the loaded one) and the loaded keys it
    /// removed, in the form a save merges into the store.
    var changes = RecordChanges()
    /// Whether ``Session/destroy()`` was called: the loaded session is deleted.
    var isDestroyed = false
    /// Whether the handler read or changed the session in any way: its response then depends on the session, and
    /// no cache may replay it to another client.
    var isAccessed = false
    /// The user this request tied the session to (``Session/authenticate(as:)``), when it did; saved under a new id.
    var authenticatedUser: String?

    /// - Parameter key: The store key the session was loaded from, for a loaded session (`id` not `nil`).
    init(id: String?, record: SessionRecord?, key: String? = nil, isLegacy: Bool = false) {
        self.loadedID = id
        self.loadedKey = key
        self.loaded = record
        self.loadedUser = record?.userID
        self.id = id
        self.isLegacy = isLegacy
    }

    /// The value a key has for this request: its change, or what was loaded.
    func value(forKey key: String) -> ByteBuffer? {
        if let value = self.changes.set[key] { return value }
        if self.changes.remove.contains(key) { return nil }
        return self.loaded?.values[key]
    }

    /// Every value the session holds, as this request sees it.
    var values: [String: ByteBuffer] {
        var values = self.loaded?.values ?? [:]
        for key in self.changes.remove { values[key] = nil }
        for (key, value) in self.changes.set { values[key] = value }
        return values
    }

    /// The user the session is tied to, as this request sees it.
    var userID: String? {
        self.authenticatedUser ?? self.loaded?.userID
    }

    /// Whether the session, as this request sees it, holds no value (and no user).
    var isEmpty: Bool {
        if !self.changes.set.isEmpty || self.userID != nil { return false }
        // Every change is a removal: the session is empty when each loaded key was removed.
        guard let loaded = self.loaded else { return true }
        return loaded.values.keys.allSatisfy { self.changes.remove.contains($0) }
    }

    /// Sets a value, giving a new session its id. Setting the value a key was loaded with is no change, so a handler
    /// that stores the same thing on every request causes no write.
    mutating func setValue(_ value: ByteBuffer, forKey key: String) {
        if self.id == nil { self.id = SessionID.generate() }
        self.changes.remove.remove(key)
        if let loaded = self.loaded?.values[key], loaded == value {
            self.changes.set[key] = nil
        } else {
            // Room for the renewal field a save adds, so that it does not grow the dictionary again.
            if self.changes.set.isEmpty { self.changes.set = Dictionary(minimumCapacity: 2) }
            self.changes.set[key] = value
        }
    }

    /// Removes a value this request can see; removing an absent key changes nothing (and so writes nothing).
    mutating func removeValue(forKey key: String) {
        self.changes.set[key] = nil
        if self.loaded?.values[key] != nil { self.changes.remove.insert(key) }
    }

    /// Gives a session that has an id a new one; a session without one gets a fresh id when written to anyway.
    mutating func regenerateID() {
        guard self.id != nil else { return }
        self.id = SessionID.generate()
    }

    /// Forgets the session: the loaded one is deleted when the response goes out, and a value set afterwards starts
    /// a new session under a fresh id.
    mutating func destroy() {
        self.isDestroyed = true
        self.loaded = nil
        self.changes = RecordChanges()
        self.id = nil
        self.authenticatedUser = nil
    }

    /// Ties the session to a user under a new id (a fresh one for a session not yet stored).
    mutating func authenticate(as userID: String) {
        self.authenticatedUser = userID
        self.id = SessionID.generate()
    }

    /// The values a new session starts with: this request's changes, without removals.
    var newValues: [String: ByteBuffer] {
        self.changes.set
    }
}
