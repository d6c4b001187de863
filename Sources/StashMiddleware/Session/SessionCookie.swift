import Stash

/// The session cookie's name and attributes, checked once, and the `Set-Cookie` values made of them.
///
/// No `Expires` attribute is sent: every browser in use honours `Max-Age`, which does not depend on the client's
/// clock, and RFC 6265 gives it precedence when both are present. A browser-session cookie has no `Max-Age` either:
/// the browser drops it when it ends the session (the stored session still ends with its expiry).
struct SessionCookie: Sendable {
    let name: String
    /// The attributes after `Max-Age`, as in `; Path=/; HttpOnly; SameSite=Lax`.
    private let attributes: String
    /// `Max-Age` for a session's whole lifetime; `nil` for a browser-session cookie.
    private let maxAge: Int64?

    init(
        name: String,
        path: String,
        domain: String?,
        secure: Bool,
        httpOnly: Bool,
        sameSite: SessionMiddleware.SameSite,
        maxAge: Int64?
    ) throws(StashMiddlewareError) {
        guard !name.isEmpty, name.utf8.allSatisfy(Self.isTokenCharacter) else {
            throw StashMiddlewareError.invalidConfiguration("the session cookie name \(name.debugDescription) is not an HTTP token")
        }
        guard path.hasPrefix("/"), path.utf8.allSatisfy(Self.isAttributeCharacter) else {
            throw StashMiddlewareError.invalidConfiguration(
                "the session cookie path \(path.debugDescription) must start with / and hold no ; or control character"
            )
        }
        if let domain {
            guard !domain.isEmpty, domain.utf8.allSatisfy({ Self.isAttributeCharacter($0) && $0 != UInt8(ascii: " ") }) else {
                throw StashMiddlewareError.invalidConfiguration("the session cookie domain \(domain.debugDescription) is not a domain")
            }
        }
        if sameSite == .none && !secure {
            throw StashMiddlewareError.invalidConfiguration("SameSite=None needs a Secure cookie: browsers reject it otherwise")
        }
        // The cookie prefixes of RFC 6265bis: browsers reject a cookie whose attributes break its prefix's promise.
        if name.hasPrefix("__Secure-") && !secure {
            throw StashMiddlewareError.invalidConfiguration("a cookie named __Secure-… must be Secure")
        }
        if name.hasPrefix("__Host-") && (!secure || path != "/" || domain != nil) {
            throw StashMiddlewareError.invalidConfiguration("a cookie named __Host-… must be Secure, with Path=/ and no Domain")
        }
        var attributes = "; Path=\(path)"
        if let domain { attributes += "; Domain=\(domain)" }
        if secure { attributes += "; Secure" }
        if httpOnly { attributes += "; HttpOnly" }
        attributes += "; SameSite=\(sameSite.rawValue)"
        self.name = name
        self.attributes = attributes
        self.maxAge = maxAge
    }

    /// The `Set-Cookie` value that gives the browser a session id for the session's lifetime, or for `lifetime`
    /// (what an absolute lifetime leaves of it) — or, for a browser-session cookie, until the browser's session ends.
    func setting(_ id: String, for lifetime: Duration? = nil) -> String {
        guard let maxAge = self.maxAge else { return "\(self.name)=\(id)\(self.attributes)" }
        return "\(self.name)=\(id); Max-Age=\(lifetime.map { min($0.roundedUpToSeconds, maxAge) } ?? maxAge)\(self.attributes)"
    }

    /// The `Set-Cookie` value that makes the browser drop the cookie (same name, path and domain, `Max-Age=0`).
    func clearing() -> String {
        "\(self.name)=; Max-Age=0\(self.attributes)"
    }

    /// An RFC 9110 `tchar`.
    static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default:
            "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    /// A character allowed in a cookie attribute value: printable ASCII other than `;`.
    private static func isAttributeCharacter(_ byte: UInt8) -> Bool {
        byte >= 0x20 && byte < 0x7F && byte != UInt8(ascii: ";")
    }
}
