import Crypto
import Logging
import NIOCore
import Stash

extension SessionMiddleware {
    /// Ends every session of a user — after a password change, or "log out everywhere" (Django's
    /// `update_session_auth_hash`) — on every instance sharing the store, without scanning the sessions: each session
    /// tied to a user by ``Session/authenticate(as:)`` is listed in the user's index, a record of the store under
    /// `user:` and the SHA-256 of the user's id, whose fields are the sessions' store keys.
    ///
    /// The index is taken (read and deleted in one atomic step), then each session in it deleted. A login racing this
    /// call is ended too, or comes after it: a session joins its user's index before it is stored, and checks once
    /// stored that it is still there (when it is not, it deletes itself and its response clears the cookie).
    ///
    /// ```swift
    /// try await users.changePassword(user, to: newPassword)
    /// _ = try await sessions.endSessions(ofUser: user.id, except: request.session?.id)
    /// ```
    /// - Parameters:
    ///   - userID: The user's id, as given to ``Session/authenticate(as:)``.
    ///   - keptID: The id of a session to keep (the one that changed the password), or `nil` to end them all.
    /// - Returns: How many sessions the index listed and were deleted (some may have ended by themselves before).
    public func endSessions(ofUser userID: String, except keptID: String? = nil) async throws -> Int {
        guard let fields = try await self.store.takeRecord(Self.userIndexKey(userID)) else { return 0 }
        let kept = keptID.map(SessionID.storeKey(of:))
        var ended = 0
        for key in fields.keys where key != kept {
            try await self.store.delete(key)
            ended += 1
        }
        if let kept, fields[kept] != nil { try await self.index(kept, user: userID) }
        self.configuration.logger.debug("sessions of a user ended", metadata: ["sessions": "\(ended)"])
        return ended
    }

    /// The store key of a user's index: `user:` and the SHA-256 of the id, which no session key can be (those are
    /// hexadecimal digests, or base64url ids from before, neither with a `:`).
    package static func userIndexKey(_ userID: String) -> String {
        "user:" + SHA256.hexDigest(userID.utf8)
    }

    /// How long a user's index is kept after a session joins it: as long as a session can last — its fixed lifetime,
    /// or its absolute one — and for ever when sliding expiry has no absolute lifetime (then what ended by itself
    /// leaves the index as the index grows, ``confirmIndexed(_:user:)``).
    var userIndexLifetime: Duration? {
        let expiry = self.configuration.expiry
        return expiry.absoluteLifetime ?? (expiry.renewalInterval == nil ? expiry.lifetime : nil)
    }

    /// Adds a session's store key to its user's index, making the index if there is none.
    func index(_ sessionKey: String, user: String) async throws {
        let indexKey = Self.userIndexKey(user)
        let lifetime = self.userIndexLifetime
        let entry = [sessionKey: ByteBuffer()]
        while true {
            let changes = RecordChanges(set: entry, expiry: lifetime.map { .reset($0) } ?? .keep)
            if try await self.store.mergeRecord(indexKey, changes) == .merged { return }
            // No index (or it was taken meanwhile): make one; when another request made it first, merge into that.
            if try await self.store.insertRecord(indexKey, fields: entry, expiresIn: lifetime) { return }
        }
    }

    /// Removes a session's store key from its user's index (the index goes with its last key).
    func unindex(_ sessionKey: String, user: String) async throws {
        _ = try await self.store.mergeRecord(Self.userIndexKey(user), RecordChanges(remove: [sessionKey]))
    }

    /// Whether a session just stored is still in its user's index; when the user's sessions were ended meanwhile, it
    /// is deleted. An index grown past 32 sessions drops those that ended by themselves.
    /// - Returns: `true` when the session stays.
    func confirmIndexed(_ sessionKey: String, user: String) async throws -> Bool {
        let indexKey = Self.userIndexKey(user)
        guard let fields = try await self.store.record(indexKey), fields[sessionKey] != nil else {
            _ = try await self.store.delete(sessionKey)
            self.configuration.logger.debug("the user's sessions were ended while this one was stored; deleted")
            return false
        }
        if fields.count > 32 {
            var ended: Set<String> = []
            for key in fields.keys where key != sessionKey {
                if try await !self.store.exists(key) { ended.insert(key) }
            }
            if !ended.isEmpty { _ = try await self.store.mergeRecord(indexKey, RecordChanges(remove: ended)) }
        }
        return true
    }
}
