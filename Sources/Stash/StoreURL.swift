/// What the stores that take a URL (`redis://`, `postgres://`) share about it.
package enum StoreURL {
    /// The URL with the password of its authority replaced by `***`, for messages and logs; a URL without one is
    /// returned as it is. Only the authority is looked at (up to the first `/` or `?` after the scheme), so an `@` or
    /// a `:` in the path or the query is never mistaken for one.
    package static func redactingPassword(_ url: String) -> String {
        guard let colon = url.firstIndex(of: ":"), url[colon...].hasPrefix("://") else { return url }
        let afterScheme = url[url.index(colon, offsetBy: 3)...]
        let authorityEnd = afterScheme.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? afterScheme.endIndex
        let authority = afterScheme[..<authorityEnd]
        guard let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") else { return url }
        return String(url[..<authority.index(after: colon)]) + "***" + String(url[at...])
    }
}
