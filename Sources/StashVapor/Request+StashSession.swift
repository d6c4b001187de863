public import StashMiddleware
public import Vapor

extension Request {
    /// The key under which the request's storage keeps its Stash session.
    private struct StashSessionKey: StorageKey {
        typealias Value = StashMiddleware.Session
    }

    /// The request's Stash session, which a ``StashVaporMiddleware`` running a `SessionMiddleware` sets before the
    /// handler runs; `nil` on routes without it. Values are typed through `Codable`:
    ///
    /// ```swift
    /// try req.stashSession?.setValue(user.id, forKey: "user")
    /// let user = try req.stashSession?.value(forKey: "user", as: UUID.self)
    /// try req.stashSession?.regenerateID()   // after a login
    /// ```
    public var stashSession: StashMiddleware.Session? {
        get { self.storage[StashSessionKey.self] }
        set { self.storage[StashSessionKey.self] = newValue }
    }
}
