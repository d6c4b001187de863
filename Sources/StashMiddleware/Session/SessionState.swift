import NIOCore

/// What one request knows and did to its session: the record it loaded, and its changes, kept apart so that saving
/// merges only the changes onto whatever the store holds by then.
struct SessionState: Sendable {
    /// The id the request's cookie named, when the store knew it.
    let loadedID: String?
    /// The record loaded under ``loadedID``.
    var loaded: SessionRecord?
    /// Whether the loaded session is stored in the encoding of Stash 0.x before records (one value, not a record): it
    /// is saved in that form.
    let isLegacy: Bool
    /// The session's id now: ``loadedID``, a fresh id once a new session is written to, or a regenerated one.
    var id: String?
    /// This request's changes by key: a value sets the key, `nil` removes it.
    var changes: [String: ByteBuffer?] = [:]
    /// Whether ``Session/destroy()`` was called: the loaded session is deleted.
    var isDestroyed = false
    /// Whether the handler read or changed the session in any way: its response then depends on the session, and
    /// no cache may replay it to another client.
    var isAccessed = false

    init(id: String?, record: SessionRecord?, isLegacy: Bool = false) {
        self.loadedID = id
        self.loaded = record
        self.id = id
        self.isLegacy = isLegacy
    }

    /// The value a key has for this request: its change, or what was loaded.
    func value(forKey key: String) -> ByteBuffer? {
        if let change = self.changes[key] { return change }
        return self.loaded?.values[key]
    }

    /// Whether the session, as this request sees it, holds no value.
    var isEmpty: Bool {
        if self.changes.values.contains(where: { $0 != nil }) { return false }
        // Every change is a removal: the session is empty when each loaded key was removed.
        guard let loaded = self.loaded else { return true }
        return loaded.values.keys.allSatisfy { self.changes[$0] != nil }
    }

    /// Sets a value, giving a new session its id. Setting the value a key was loaded with is no change, so a handler
    /// that stores the same thing on every request causes no write.
    mutating func setValue(_ value: ByteBuffer, forKey key: String) {
        if self.id == nil { self.id = SessionID.generate() }
        if let loaded = self.loaded?.values[key], loaded == value {
            self.changes[key] = nil
        } else {
            self.changes[key] = .some(value)
        }
    }

    /// Removes a value this request can see; removing an absent key changes nothing (and so writes nothing).
    mutating func removeValue(forKey key: String) {
        if self.loaded?.values[key] != nil {
            self.changes[key] = .some(nil)
        } else {
            self.changes[key] = nil
        }
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
        self.changes = [:]
        self.id = nil
    }

    /// The values a new session starts with: this request's changes, without removals.
    var newValues: [String: ByteBuffer] {
        self.changes.compactMapValues { $0 }
    }
}
