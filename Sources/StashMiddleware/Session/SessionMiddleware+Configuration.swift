public import Logging
import Stash
public import Tracing

extension SessionMiddleware {
    /// How a ``SessionMiddleware`` names its cookie and how long sessions live.
    ///
    /// The defaults: a cookie named `session` with `Path=/`, `HttpOnly` and `SameSite=Lax`, not `Secure` (so that it
    /// works on `http://localhost`; set `secure: true` in production), and a fixed lifetime of 12 hours, as
    /// hummingbird-auth's sessions have. The cookie carries `Max-Age`, not `Expires`: every browser in use honours it,
    /// and it does not depend on the client's clock.
    public struct Configuration: Sendable {
        /// The name of the store in the registry.
        public private(set) var storeName: String
        /// The cookie's name.
        public private(set) var cookieName: String
        /// The cookie's `Path`.
        public private(set) var path: String
        /// The cookie's `Domain`; `nil` sends none, so only the host that set the cookie receives it.
        public private(set) var domain: String?
        /// Whether the cookie is `Secure` (sent over HTTPS only).
        public private(set) var secure: Bool
        /// Whether the cookie is `HttpOnly` (hidden from scripts).
        public private(set) var httpOnly: Bool
        /// The cookie's `SameSite`.
        public private(set) var sameSite: SameSite
        /// How long sessions live, and whether requests renew them.
        public private(set) var expiry: SessionExpiry
        /// Whether the cookie is a browser-session cookie: no `Max-Age`, so the browser drops it when it ends its
        /// session (closing it, for most). The stored session ends with ``expiry`` all the same.
        public private(set) var browserSessionCookie: Bool
        /// Whether a session stored by a release before session keys were hashed — under its id itself — is still
        /// found (one more read for a cookie that names no hashed session). Such sessions stay where they are until
        /// they end or their id is regenerated; once one lifetime has passed since the upgrade, none is left, and
        /// this can be turned off.
        public var readsUnhashedIDs: Bool
        /// Where the middleware logs (at debug and trace level only); by default nowhere.
        public var logger: Logger
        /// Where the middleware's spans (`stash.session.load` and `stash.session.save`) and its store's go; `nil`, the default, for the tracer
        /// bootstrapped with `InstrumentationSystem`, if any. Looked up once, when the middleware is made: with no
        /// tracer, tracing costs nothing.
        public var tracer: (any Tracer)? = nil

        let cookie: SessionCookie

        /// Creates the default configuration.
        public init() {
            // The defaults are valid by construction; the throwing initializer checks them all the same.
            self = try! Self(storeName: "sessions")
        }

        /// Creates a configuration.
        /// - Throws: ``StashMiddlewareError/Code/invalidConfiguration`` for a cookie name that is not an HTTP token, a path or domain
        ///   holding `;` or a control character, `SameSite=None` without `Secure`, a `__Secure-` or `__Host-` name
        ///   whose attributes break the prefix's rules, or a lifetime, renewal interval or absolute lifetime out of
        ///   range.
        public init(
            storeName: String = "sessions",
            cookieName: String = "session",
            path: String = "/",
            domain: String? = nil,
            secure: Bool = false,
            httpOnly: Bool = true,
            sameSite: SameSite = .lax,
            expiry: SessionExpiry = .fixed(.seconds(12 * 3600)),
            browserSessionCookie: Bool = false,
            readsUnhashedIDs: Bool = true,
            logger: Logger = Logger(label: "Stash.SessionMiddleware", factory: { _ in SwiftLogNoOpLogHandler() })
        ) throws(StashMiddlewareError) {
            try expiry.validate()
            self.cookie = try SessionCookie(
                name: cookieName,
                path: path,
                domain: domain,
                secure: secure,
                httpOnly: httpOnly,
                sameSite: sameSite,
                maxAge: browserSessionCookie ? nil : expiry.lifetime.roundedUpToSeconds
            )
            self.storeName = storeName
            self.cookieName = cookieName
            self.path = path
            self.domain = domain
            self.secure = secure
            self.httpOnly = httpOnly
            self.sameSite = sameSite
            self.expiry = expiry
            self.browserSessionCookie = browserSessionCookie
            self.readsUnhashedIDs = readsUnhashedIDs
            self.logger = logger
        }
    }

    /// The cookie's `SameSite` attribute: when the browser sends the session cookie with requests from other sites.
    public enum SameSite: String, Hashable, Sendable {
        /// Only with requests from the same site.
        case strict = "Strict"
        /// With requests from the same site and with top-level navigations from other sites (following a link): the
        /// browsers' default, and a sensible one for sessions.
        case lax = "Lax"
        /// With every request, cross-site ones included; browsers accept it only on a `Secure` cookie.
        case none = "None"
    }
}
