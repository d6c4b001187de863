import Foundation
public import Stash
import StashMiddleware
public import Vapor

/// Vapor's sessions (`req.session`, `SessionsMiddleware`) kept in any Stash store: an existing Vapor application
/// moves its sessions to Redis, PostgreSQL, files or the bounded memory store by changing one line.
///
/// ```swift
/// app.sessions.use(.stash(try registry.store(named: "vapor_sessions")))
/// app.middleware.use(app.sessions.middleware)
/// ```
///
/// Ids are 256 bits from the system's secure generator (43 characters of base64url); a cookie that is not shaped
/// like one is never looked up. Each session is stored as JSON with the lifetime of the cookie Vapor's
/// configuration makes (`app.sessions.configuration`: its `Max-Age`, else its `Expires`), or
/// ``defaultLifetime`` for a cookie with neither (one the browser drops when it closes), and renewed to that
/// lifetime whenever Vapor saves it. A stored session that does not decode is no session.
///
/// A session is stored under the SHA-256 of its id, as ``/StashMiddleware/SessionMiddleware`` stores its own, so the
/// store names no session a cookie could carry. One stored by an earlier release under the id itself is still read;
/// Vapor's next save writes it under the hash (the old copy, read no more, expires no later), and a logout deletes
/// both.
public struct StashSessionDriver: AsyncSessionDriver {
    /// The store holding the sessions.
    public let store: any Store
    /// How long a session lives when Vapor's cookie says nothing.
    public let defaultLifetime: Duration

    /// Creates a driver keeping sessions in `store`.
    public init(store: any Store, defaultLifetime: Duration = .seconds(86_400)) {
        self.store = store
        self.defaultLifetime = defaultLifetime
    }

    /// Stores a new session under a new random id (256 bits), for the lifetime of the session cookie.
    /// - Throws: ``/Stash/StoreError`` when the store fails, or when the id is already taken (a broken generator).
    public func createSession(_ data: SessionData, for request: Request) async throws -> Vapor.SessionID {
        let id = StashMiddleware.SessionID.generate()
        // With 256 random bits an existing id means a broken generator: refuse rather than share a session.
        let key = StashMiddleware.SessionID.storeKey(of: id)
        guard try await self.store.insert(key, encoding: data, expiresIn: self.lifetime(for: request)) else {
            throw StoreError.alreadyExists(key: key)
        }
        return Vapor.SessionID(string: id)
    }

    /// The session stored under the id, or `nil` for a malformed id, a missing session or one that does not decode.
    public func readSession(_ sessionID: Vapor.SessionID, for request: Request) async throws -> SessionData? {
        guard StashMiddleware.SessionID.isWellFormed(sessionID.string.utf8) else { return nil }
        do {
            if let hashed = try await self.store.get(StashMiddleware.SessionID.storeKey(of: sessionID.string), as: SessionData.self) {
                return hashed
            }
            return try await self.store.get(sessionID.string, as: SessionData.self)
        } catch let error as StoreError where error.code == .conversionFailed {
            request.logger.debug("a stored Vapor session does not decode; treated as none", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// Replaces the session stored under the id and renews its lifetime; the id stays the same.
    public func updateSession(_ sessionID: Vapor.SessionID, to data: SessionData, for request: Request) async throws -> Vapor.SessionID {
        try await self.store.set(StashMiddleware.SessionID.storeKey(of: sessionID.string), encoding: data, expiresIn: self.lifetime(for: request))
        return sessionID
    }

    /// Deletes the session stored under the id (a malformed id has none).
    public func deleteSession(_ sessionID: Vapor.SessionID, for request: Request) async throws {
        guard StashMiddleware.SessionID.isWellFormed(sessionID.string.utf8) else { return }
        try await self.store.delete(StashMiddleware.SessionID.storeKey(of: sessionID.string))
        try await self.store.delete(sessionID.string)  // one an earlier release stored under the id
    }

    /// The lifetime of the cookie Vapor's configuration makes, or ``defaultLifetime``.
    func lifetime(for request: Request) -> Duration {
        let cookie = request.application.sessions.configuration.cookieFactory(Vapor.SessionID(string: ""))
        if let maxAge = cookie.maxAge { return .seconds(max(maxAge, 1)) }
        if let expires = cookie.expires {
            let milliseconds = Int64((expires.timeIntervalSinceNow * 1000).rounded(.up))
            return .milliseconds(max(milliseconds, 1))
        }
        return self.defaultLifetime
    }
}

extension Application.Sessions.Provider {
    /// Sessions kept in a Stash store (``StashSessionDriver``).
    public static func stash(_ store: any Store, defaultLifetime: Duration = .seconds(86_400)) -> Self {
        .init { app in
            app.sessions.use { _ in StashSessionDriver(store: store, defaultLifetime: defaultLifetime) }
        }
    }
}
