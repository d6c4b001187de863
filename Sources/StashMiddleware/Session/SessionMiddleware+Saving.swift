import Logging
import Metrics
import NIOCore
import Stash

extension SessionMiddleware {
    /// What saving a loaded session came to.
    enum MergeOutcome: Sendable {
        /// The session was deleted or expired while the request ran; nothing was written.
        case gone
        /// Nothing changed and no renewal was due.
        case unchanged
        /// The changes were written, keeping the session's expiry.
        case saved
        /// The session's expiry was reset (sliding expiry) to `lifetime` — its full lifetime, or what its absolute
        /// lifetime leaves — with or without changes.
        case renewed(changed: Bool, lifetime: Duration)
        /// The request removed the session's last value, so the session was deleted.
        case emptied
    }

    /// Saves what a request did to its session, returning the `Set-Cookie` value the response needs, if any.
    func save(_ state: SessionState, hadCookie: Bool) async throws -> String? {
        let cookie = self.configuration.cookie
        if state.isDestroyed, let old = state.loadedKey {
            try await self.store.delete(old)
            if let user = state.loadedUser { try await self.unindex(old, user: user) }
            self.metrics.destroyed.increment()
            self.configuration.logger.debug("session destroyed")
        }
        let clearing = state.isDestroyed && hadCookie ? cookie.clearing() : nil
        guard let id = state.id else { return clearing }
        guard let loadedID = state.loadedID, let loadedKey = state.loadedKey, !state.isDestroyed else {
            // A new session exists only once it holds a value, or a user.
            let values = state.newValues
            guard !values.isEmpty || state.authenticatedUser != nil else { return clearing }
            guard try await self.create(id, values: values, user: state.authenticatedUser) else { return clearing }
            self.metrics.created.increment()
            self.configuration.logger.debug("session created")
            return cookie.setting(id)
        }
        if id != loadedID {
            return try await self.move(
                from: loadedKey,
                to: id,
                loaded: state.loaded,
                isLegacy: state.isLegacy,
                changes: state.changes,
                user: state.authenticatedUser,
                loadedUser: state.loadedUser
            )
        }
        return try await self.merge(into: loadedKey, id: id, loaded: state.loaded, isLegacy: state.isLegacy, changes: state.changes)
    }

    /// Stores a new session under a fresh id; one tied to a user joins the user's index first.
    /// - Returns: `false` when the user's sessions were ended while it was stored, and so was it.
    private func create(_ id: String, values: [String: ByteBuffer], user: String?) async throws -> Bool {
        let now = self.now().millisecondsSinceEpoch
        let record = SessionRecord(values: values, renewedAt: now, createdAt: now, userID: user)
        let key = SessionID.storeKey(of: id)
        if let user { try await self.index(key, user: user) }
        try await self.insert(id, record, expiresIn: self.configuration.expiry.lifetime)
        guard let user else { return true }
        return try await self.confirmIndexed(key, user: user)
    }

    /// Inserts a session's record under the hash of its id. The insert refuses to overwrite: with 256 random bits an
    /// existing id means a broken generator, and failing is better than handing one user another's session.
    private func insert(_ id: String, _ record: SessionRecord, expiresIn lifetime: Duration) async throws {
        let key = SessionID.storeKey(of: id)
        guard try await self.store.insertRecord(key, fields: record.fields, expiresIn: lifetime) else {
            throw StoreError.alreadyExists(key: key)
        }
    }

    /// Merges a request's changes into its stored session, and renews a sliding expiry when due: one atomic step of
    /// the store (``/Stash/Store/mergeRecord(_:_:)``), which never retries, however many requests of the session run.
    private func merge(into key: String, id: String, loaded: SessionRecord?, isLegacy: Bool, changes: RecordChanges) async throws -> String? {
        let expiry = self.configuration.expiry
        let now = self.now().millisecondsSinceEpoch
        let renewalDue = loaded.map { Self.isRenewalDue($0, expiry: expiry, now: now) } ?? false
        let changed = !changes.set.isEmpty || !changes.remove.isEmpty
        guard changed || renewalDue else { return nil }
        if isLegacy {
            return try await self.mergeLegacy(into: key, id: id, changes: changes, expiry: expiry, now: now)
        }
        // Renewed for the lifetime, or what the absolute lifetime leaves of it (nothing left: the session ends at
        // the expiry it has, which its last renewal set no later than the absolute end).
        let started = loaded?.startedAt ?? now
        let lifetime = expiry.remaining(createdAt: started, now: now)
        let renews = expiry.renewalInterval != nil && lifetime > .zero
        var record = changes
        record.metadataFields = SessionRecord.metadataFields
        if renews {
            record.set[SessionRecord.renewedAtField] = SessionRecord.renewal(now)
            // A session stored before creation times were kept counts from its last renewal, which this one replaces.
            if loaded?.createdAt == nil { record.set[SessionRecord.createdAtField] = SessionRecord.renewal(started) }
            record.expiry = .reset(lifetime)
        }
        let outcome: MergeOutcome
        switch try await self.store.mergeRecord(key, record) {
        case .missing: outcome = .gone
        case .deleted: outcome = .emptied
        case .merged: outcome = renews ? .renewed(changed: changed, lifetime: lifetime) : .saved
        }
        return self.finish(id, outcome)
    }

    /// Merges into a session stored by Stash 0.x before records, through ``/Stash/Store/update(_:_:)``, keeping its
    /// encoding: such sessions end (or move into a record when their id is regenerated) within one lifetime.
    private func mergeLegacy(into key: String, id: String, changes: RecordChanges, expiry: SessionExpiry, now: Int64) async throws -> String? {
        let outcome = Locked<MergeOutcome>(.unchanged)
        _ = try await self.store.update(key) { current in
            // `update` may run this more than once; the last run is the one that was written.
            let (update, result) = try Self.merging(changes, into: current, expiry: expiry, now: now)
            outcome.withLock { $0 = result }
            return update
        }
        return self.finish(id, outcome.withLock { $0 })
    }

    /// Counts and logs what a merge came to, and returns the `Set-Cookie` value it needs, if any.
    private func finish(_ id: String, _ outcome: MergeOutcome) -> String? {
        switch outcome {
        case .gone:
            self.metrics.discarded.increment()
            self.configuration.logger.debug("session was deleted while the request ran; its changes are dropped")
            return nil
        case .unchanged:
            return nil
        case .saved:
            self.metrics.saved.increment()
            self.configuration.logger.trace("session saved")
            return nil
        case .renewed(let changed, let lifetime):
            if changed { self.metrics.saved.increment() }
            self.metrics.renewed.increment()
            self.configuration.logger.trace("session renewed")
            return self.configuration.cookie.setting(id, for: lifetime)
        case .emptied:
            self.metrics.destroyed.increment()
            self.configuration.logger.debug("session emptied and deleted")
            return self.configuration.cookie.clearing()
        }
    }

    /// Moves a session to a new id: stored, with the request's changes, under the new id's key, then the old record
    /// (at `old`, its store key) is taken and deleted in one atomic step. A store that fails between the two (down,
    /// full) fails the request with the session still under its old id, which the client keeps: a failed login loses
    /// nothing, and gives the old id nothing either. When the old record taken is not the one the request loaded
    /// (another request changed it meanwhile, or ended it), the new record is written again from what was taken: a
    /// session deleted meanwhile is not brought back, and holds only this request's values. The new id keeps the
    /// session's creation time, so that an absolute lifetime is not restarted by a login.
    ///
    /// A session tied to a user (before, or by this request) joins the user's index under its new key before it is
    /// stored, and leaves it under the old key after.
    private func move(
        from old: String,
        to new: String,
        loaded: SessionRecord?,
        isLegacy: Bool,
        changes: RecordChanges,
        user: String?,
        loadedUser: String?
    ) async throws -> String? {
        let now = self.now().millisecondsSinceEpoch
        let newKey = SessionID.storeKey(of: new)
        // Indexed before the new record is stored: sessions of the user ended meanwhile end this one too.
        let expectedUser = user ?? loadedUser
        if let expectedUser { try await self.index(newKey, user: expectedUser) }
        let planned = self.moved(loaded, changes: changes, user: user, loadedUser: loadedUser, now: now)
        if planned.kept { try await self.insert(new, planned.record, expiresIn: planned.lifetime) }
        let taken: SessionRecord?
        if isLegacy {
            let buffer = Locked<ByteBuffer?>(nil)
            _ = try await self.store.update(old) { current in
                buffer.withLock { $0 = current }
                return current == nil ? .unchanged : .delete
            }
            taken = try buffer.withLock({ $0 }).map { buffer throws(StashMiddlewareError) in try SessionRecord(decoding: buffer) }
        } else {
            taken = try await self.store.takeRecord(old).map { fields throws(StashMiddlewareError) in try SessionRecord(fields: fields) }
        }
        if let loadedUser { try await self.unindex(old, user: loadedUser) }
        let moved = self.moved(taken, changes: changes, user: user, loadedUser: loadedUser, now: now)
        if moved != planned {
            // Changed or ended meanwhile: what was taken decides. The new id is still this request's alone.
            if planned.kept { try await self.store.delete(newKey) }
            if moved.kept { try await self.insert(new, moved.record, expiresIn: moved.lifetime) }
        }
        // Indexed for nothing: no session is stored, or it is tied to no user after all.
        if let expectedUser, !moved.kept || moved.record.userID == nil { try await self.unindex(newKey, user: expectedUser) }
        guard moved.kept else {
            self.metrics.destroyed.increment()
            self.configuration.logger.debug("regenerated session holds no value, or its absolute lifetime is over; deleted")
            return self.configuration.cookie.clearing()
        }
        if let user = moved.record.userID, try await !self.confirmIndexed(newKey, user: user) {
            return self.configuration.cookie.clearing()
        }
        self.metrics.regenerated.increment()
        self.configuration.logger.debug("session id regenerated")
        return self.configuration.cookie.setting(new, for: moved.lifetime)
    }

    /// The record a session moved to a new id holds, from its old record (`nil`: deleted or ended), and whether it is
    /// kept (it holds a value or a user, and has lifetime left) for how long.
    private func moved(
        _ old: SessionRecord?,
        changes: RecordChanges,
        user: String?,
        loadedUser: String?,
        now: Int64
    ) -> MovedSession {
        var record = SessionRecord(values: [:], renewedAt: now, createdAt: now)
        if let old {
            record.values = old.values
            record.createdAt = old.startedAt
        }
        // A session taken by another request (or ended with its user's sessions) keeps no user it had.
        record.userID = user ?? (old == nil ? nil : loadedUser)
        record.apply(changes)
        // A fixed lifetime starts again with the new id; a sliding one gets what its absolute lifetime leaves.
        let lifetime = self.configuration.expiry.remaining(createdAt: record.startedAt, now: now)
        return MovedSession(record: record, lifetime: lifetime, kept: (!record.values.isEmpty || record.userID != nil) && lifetime > .zero)
    }

    /// A session as moved to a new id: see ``moved(_:changes:user:loadedUser:now:)``.
    struct MovedSession: Equatable {
        var record: SessionRecord
        var lifetime: Duration
        var kept: Bool
    }

    /// What to write when merging changes into the legacy session `current`: the transform of ``/Stash/Store/update(_:_:)``.
    static func merging(
        _ changes: RecordChanges,
        into current: ByteBuffer?,
        expiry: SessionExpiry,
        now: Int64
    ) throws(StashMiddlewareError) -> (StoreUpdate, MergeOutcome) {
        guard let current else { return (.unchanged, .gone) }
        var record = try SessionRecord(decoding: current)
        let before = record.values
        record.apply(changes)
        let changed = record.values != before
        if record.values.isEmpty { return (.delete, .emptied) }
        let lifetime = expiry.remaining(createdAt: record.startedAt, now: now)
        if expiry.renewalInterval != nil, lifetime > .zero, changed || Self.isRenewalDue(record, expiry: expiry, now: now) {
            // The legacy encoding has no creation time: with an absolute lifetime such a session is not renewed past
            // the end its last renewal sets (it moves into a record, with that time, when its id is regenerated).
            if expiry.absoluteLifetime == nil { record.renewedAt = now }
            return (.set(record.encoded(), expiresIn: lifetime), .renewed(changed: changed, lifetime: lifetime))
        }
        guard changed else { return (.unchanged, .unchanged) }
        return (.setKeepingExpiry(record.encoded()), .saved)
    }

    /// Whether sliding expiry should renew a session now.
    static func isRenewalDue(_ record: SessionRecord, expiry: SessionExpiry, now: Int64) -> Bool {
        guard let interval = expiry.renewalInterval else { return false }
        let (seconds, attoseconds) = interval.components
        return now - record.renewedAt >= seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
