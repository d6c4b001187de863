import Logging
import Metrics
import NIOCore
import Stash
import Synchronization

extension SessionMiddleware {
    /// What saving a loaded session came to.
    enum MergeOutcome: Sendable {
        /// The session was deleted or expired while the request ran; nothing was written.
        case gone
        /// Nothing changed and no renewal was due.
        case unchanged
        /// The changes were written, keeping the session's expiry.
        case saved
        /// The session's expiry was reset to its full lifetime (sliding expiry), with or without changes.
        case renewed(changed: Bool)
        /// The request removed the session's last value, so the session was deleted.
        case emptied
    }

    /// Saves what a request did to its session, returning the `Set-Cookie` value the response needs, if any.
    func save(_ state: SessionState, hadCookie: Bool) async throws -> String? {
        let cookie = self.configuration.cookie
        if state.isDestroyed, let old = state.loadedID {
            try await self.store.delete(old)
            self.metrics.destroyed.increment()
            self.configuration.logger.debug("session destroyed")
        }
        let clearing = state.isDestroyed && hadCookie ? cookie.clearing() : nil
        guard let id = state.id else { return clearing }
        guard let loadedID = state.loadedID, !state.isDestroyed else {
            // A new session exists only once it holds a value.
            let values = state.newValues
            guard !values.isEmpty else { return clearing }
            try await self.create(id, values: values)
            self.metrics.created.increment()
            self.configuration.logger.debug("session created")
            return cookie.setting(id)
        }
        if id != loadedID {
            return try await self.move(from: loadedID, to: id, isLegacy: state.isLegacy, changes: state.changes)
        }
        return try await self.merge(into: id, loaded: state.loaded, isLegacy: state.isLegacy, changes: state.changes)
    }

    /// Stores a new session under a fresh id.
    private func create(_ id: String, values: [String: ByteBuffer]) async throws {
        let record = SessionRecord(values: values, renewedAt: self.now().millisecondsSinceEpoch)
        try await self.insert(id, record)
    }

    /// Inserts a session's record. The insert refuses to overwrite: with 256 random bits an existing id means a broken
    /// generator, and failing is better than handing one user another's session.
    private func insert(_ id: String, _ record: SessionRecord) async throws {
        guard try await self.store.insertRecord(id, fields: record.fields, expiresIn: self.configuration.expiry.lifetime) else {
            throw StoreError.alreadyExists(key: id)
        }
    }

    /// Merges a request's changes into its stored session, and renews a sliding expiry when due: one atomic step of
    /// the store (``Stash/Store/mergeRecord(_:_:)``), which never retries, however many requests of the session run.
    private func merge(into id: String, loaded: SessionRecord?, isLegacy: Bool, changes: RecordChanges) async throws -> String? {
        let expiry = self.configuration.expiry
        let now = self.now().millisecondsSinceEpoch
        let renewalDue = loaded.map { Self.isRenewalDue($0, expiry: expiry, now: now) } ?? false
        let changed = !changes.set.isEmpty || !changes.remove.isEmpty
        guard changed || renewalDue else { return nil }
        if isLegacy {
            return try await self.mergeLegacy(into: id, changes: changes, expiry: expiry, now: now)
        }
        let renews = expiry.renewalInterval != nil
        var record = changes
        record.metadataFields = SessionRecord.metadataFields
        if renews {
            record.set[SessionRecord.renewedAtField] = SessionRecord.renewal(now)
            record.expiry = .reset(expiry.lifetime)
        }
        let outcome: MergeOutcome
        switch try await self.store.mergeRecord(id, record) {
        case .missing: outcome = .gone
        case .deleted: outcome = .emptied
        case .merged: outcome = renews ? .renewed(changed: changed) : .saved
        }
        return self.finish(id, outcome)
    }

    /// Merges into a session stored by Stash 0.x before records, through ``Stash/Store/update(_:_:)``, keeping its
    /// encoding: such sessions end (or move into a record when their id is regenerated) within one lifetime.
    private func mergeLegacy(into id: String, changes: RecordChanges, expiry: SessionExpiry, now: Int64) async throws -> String? {
        let outcome = Mutex<MergeOutcome>(.unchanged)
        _ = try await self.store.update(id) { current in
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
        case .renewed(let changed):
            if changed { self.metrics.saved.increment() }
            self.metrics.renewed.increment()
            self.configuration.logger.trace("session renewed")
            return self.configuration.cookie.setting(id)
        case .emptied:
            self.metrics.destroyed.increment()
            self.configuration.logger.debug("session emptied and deleted")
            return self.configuration.cookie.clearing()
        }
    }

    /// Moves a session to a new id: the old record is taken and deleted in one atomic step, then stored, with the
    /// request's changes, under the new id. A session deleted meanwhile is not brought back: the new one holds only
    /// this request's values.
    private func move(from old: String, to new: String, isLegacy: Bool, changes: RecordChanges) async throws -> String? {
        var record = SessionRecord(values: [:], renewedAt: self.now().millisecondsSinceEpoch)
        if isLegacy {
            let taken = Mutex<ByteBuffer?>(nil)
            _ = try await self.store.update(old) { current in
                taken.withLock { $0 = current }
                return current == nil ? .unchanged : .delete
            }
            if let buffer = taken.withLock({ $0 }) {
                record.values = try SessionRecord(decoding: buffer).values
            }
        } else if let fields = try await self.store.takeRecord(old) {
            record.values = try SessionRecord(fields: fields).values
        }
        record.apply(changes)
        guard !record.values.isEmpty else {
            self.metrics.destroyed.increment()
            self.configuration.logger.debug("regenerated session holds no value; deleted")
            return self.configuration.cookie.clearing()
        }
        try await self.insert(new, record)
        self.metrics.regenerated.increment()
        self.configuration.logger.debug("session id regenerated")
        return self.configuration.cookie.setting(new)
    }

    /// What to write when merging changes into the legacy session `current`: the transform of ``Stash/Store/update(_:_:)``.
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
        if expiry.renewalInterval != nil, changed || Self.isRenewalDue(record, expiry: expiry, now: now) {
            record.renewedAt = now
            return (.set(record.encoded(), expiresIn: expiry.lifetime), .renewed(changed: changed))
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
