import HTTPTypes
import Logging
import Metrics
import NIOCore
public import Stash
import Tracing

/// Server-side sessions as a middleware: a random id in a cookie, the session's values in a store.
///
/// Before the handler runs, the session named by the request's cookie is loaded into ``StashRequest/session``; when
/// the handler returns, what it changed is saved and the response gets the cookie it needs, if any:
///
/// ```swift
/// let sessions = try SessionMiddleware(registry: registry, configuration: .init(secure: true, expiry: .sliding(.seconds(2 * 3600))))
/// let handler = sessions.wrapping { request in
///     let session = request.session!
///     let visits = try session.value(forKey: "visits", as: Int.self) ?? 0
///     try session.setValue(visits + 1, forKey: "visits")
///     return StashResponse(status: .ok, body: "visit \(visits + 1)")
/// }
/// ```
///
/// - A request without a cookie costs no store read; a request that leaves its session untouched costs no store
///   write and gets no cookie; a new session is stored, and its cookie sent, only once it holds a value.
/// - Ids are 256 random bits; a cookie value not shaped like one is never looked up, and an id the store does not
///   know is never adopted: setting a value then starts a new session under a fresh id (no session fixation).
/// - Saving merges only the keys the request set or removed onto the stored session, in one atomic
///   ``/Stash/Store/mergeRecord(_:_:)``, so concurrent requests of one session lose no change. A session deleted while a
///   request ran (a logout in another tab, or a login that moved it to a new id) stays deleted: that request's changes
///   are dropped, never resurrecting it.
/// - A response whose handler read or changed the session gets `Cache-Control: private` (unless it says `private` or
///   `no-store` already) and `Vary: Cookie`, so that no shared cache downstream stores it and any other cache keys it
///   by the cookie; ``ResponseCache`` never stores it, in front of the session middleware or behind it. A response
///   whose handler never touched the session is left as it is, and stays cacheable.
/// - When the handler throws, nothing is saved: the error goes on unchanged.
/// - A store that fails, on load or on save, fails the request with the store's error: a session store that is down
///   is not hidden.
///
/// Metrics: `stash_sessions_total` with dimension `outcome` (`created`, `loaded`, `saved`, `renewed`, `destroyed`,
/// `regenerated`, `rejected`, `discarded`).
///
/// Traces, when a tracer is bootstrapped (or ``Configuration/tracer`` set): loading a request's session (when it
/// has a cookie) is a span `stash.session.load`, saving what the request did (when it has a session, or destroyed
/// one) a span `stash.session.save`; each has the string-array attribute `stash.session.outcome` with the outcomes
/// the metrics count (`loaded` or `rejected`; `created`, `saved`, `renewed`, `destroyed`, `regenerated`,
/// `discarded`; none when nothing was written), and a store error recorded as its code. The store's operations are
/// spans of ``/Stash/TracingStore``, with `stash.namespace` ``Configuration/storeName``. No session id, store key or
/// cookie is recorded.
public struct SessionMiddleware: HTTPMiddleware {
    let configuration: Configuration
    let store: any Store
    let metrics: SessionMetrics
    let tracing: MiddlewareTracing
    let now: @Sendable () -> WallClock.Instant

    /// Creates sessions whose store is the registry's store named ``Configuration/storeName``.
    /// - Throws: What the registry's factory throws when it makes the store.
    public init(registry: StoreRegistry, configuration: Configuration = .init()) throws {
        try self.init(store: registry.store(named: configuration.storeName), configuration: configuration)
    }

    /// Creates sessions on a given store.
    public init(store: any Store, configuration: Configuration = .init()) {
        self.init(store: store, configuration: configuration, clock: WallClock())
    }

    /// Creates sessions on a given store, timing sliding expiry's renewals by a given wall clock (a manual clock in
    /// tests). Expiry itself is the store's.
    public init<C: Clock>(store: any Store, configuration: Configuration = .init(), clock: C) where C.Instant == WallClock.Instant {
        self.tracing = MiddlewareTracing(configured: configuration.tracer)
        self.store = self.tracing.store(store, namespace: configuration.storeName)
        self.configuration = configuration
        self.metrics = SessionMetrics(traced: self.tracing.traces)
        self.now = { clock.now }
    }

    /// `false`: sessions never read the client's address, so adapters need not format it for them.
    public var readsPeerAddress: Bool { false }

    public func respond(to request: StashRequest, next: (StashRequest) async throws -> StashResponse) async throws -> StashResponse {
        let found = self.configuration.cookie.find(in: request.head.headerFields)
        let session: Session
        if self.tracing.traces, found.isPresent {
            session = try await DecisionSpan.run("stash.session.load", tracer: self.tracing.tracer) { try await self.load(found) }
        } else {
            session = try await self.load(found)
        }
        var request = request
        request.session = session
        var response = try await next(request)
        let state = session.state.withLock { $0 }
        if state.isAccessed {
            response.head.headerFields.markDependingOnSession()
        }
        let setCookie: String?
        if self.tracing.traces, state.isDestroyed || state.id != nil {
            setCookie = try await DecisionSpan.run("stash.session.save", tracer: self.tracing.tracer) {
                try await self.save(state, hadCookie: found.isPresent)
            }
        } else {
            setCookie = try await self.save(state, hadCookie: found.isPresent)
        }
        if let setCookie {
            response.head.headerFields.append(HTTPField(name: .setCookie, value: setCookie))
        }
        return response
    }

    /// Loads the session a request's cookie names, or makes an empty one.
    func load(_ found: SessionCookie.Found) async throws -> Session {
        guard let id = found.id else {
            if found.isPresent {
                self.metrics.rejected.increment()
                self.configuration.logger.trace("session cookie is not a session id; ignored")
            }
            return Session(state: SessionState(id: nil, record: nil))
        }
        let record: SessionRecord?
        var isLegacy = false
        var key = SessionID.storeKey(of: id)
        do {
            var fields = try await self.store.record(key)
            if fields == nil, self.configuration.readsUnhashedIDs, let unhashed = try await self.store.record(id) {
                // Stored by a release before keys were hashed: found, and kept, under the id itself.
                (fields, key) = (unhashed, id)
            }
            record = try fields.map { fields throws(StashMiddlewareError) in try SessionRecord(fields: fields) }
        } catch let error as StoreError where error.code == .conversionFailed {
            // Stored by Stash 0.x before records, as one value: under its id, since 0.x did not hash keys.
            if self.configuration.readsUnhashedIDs { key = id }
            let stored = try await self.store.get(key)
            do {
                record = try stored.map { stored throws(StashMiddlewareError) in try SessionRecord(decoding: stored) }
                isLegacy = true
            } catch {
                return self.unreadable(error)
            }
        } catch let error as StashMiddlewareError {
            return self.unreadable(error)
        } catch let error as StoreError where error.code == .corruptEntry {
            return self.unreadable(error)
        } catch {
            self.configuration.logger.debug("session store failed on load", metadata: ["error": "\(error)"])
            throw error
        }
        guard let record else {
            self.metrics.rejected.increment()
            self.configuration.logger.debug("session cookie names no stored session (expired or forged); a new session gets a fresh id")
            return Session(state: SessionState(id: nil, record: nil))
        }
        let expiry = self.configuration.expiry
        if expiry.absoluteLifetime != nil, expiry.remaining(createdAt: record.startedAt, now: self.now().millisecondsSinceEpoch) <= .zero {
            self.metrics.rejected.increment()
            self.configuration.logger.debug("session reached its absolute lifetime; a new session gets a fresh id")
            return Session(state: SessionState(id: nil, record: nil))
        }
        self.metrics.loaded.increment()
        return Session(state: SessionState(id: id, record: record, key: key, isLegacy: isLegacy))
    }

    /// A session the store holds but this build cannot read (damaged, or a newer format after a rollback) is treated
    /// like an unknown id: the user starts a new session rather than every request failing until the record expires.
    private func unreadable(_ error: any Error) -> Session {
        self.metrics.rejected.increment()
        self.configuration.logger.debug("stored session is unreadable; a new session gets a fresh id", metadata: ["error": "\(error)"])
        return Session(state: SessionState(id: nil, record: nil))
    }
}
