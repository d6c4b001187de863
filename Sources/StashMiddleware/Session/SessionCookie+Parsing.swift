import HTTPTypes

extension SessionCookie {
    /// What a request's `Cookie` fields say about the session cookie.
    struct Found {
        /// Whether the request carries a cookie of this name at all, well-formed or not.
        var isPresent = false
        /// The first value of that name shaped like a session id.
        var id: Substring?
    }

    /// Finds the session cookie in a request's `Cookie` fields.
    ///
    /// Every `Cookie` field is read (HTTP/2 may split cookies over several), pairs are `;`-separated with optional
    /// spaces or tabs around them, and a value in double quotes is unquoted. When a name appears more than once (a
    /// cookie set for a parent domain or a shorter path as well), the first value shaped like a session id wins —
    /// browsers send the cookie with the longest path first — and the others are ignored, so one request never
    /// costs more than one store read. A value that is not shaped like an id is never looked up.
    func find(in fields: HTTPFields) -> Found {
        var found = Found()
        for field in fields[values: .cookie] {
            for pair in field.split(separator: ";", omittingEmptySubsequences: true) {
                guard let equals = pair.firstIndex(of: "=") else { continue }
                guard Self.trimmed(pair[..<equals]) == self.name else { continue }
                found.isPresent = true
                var value = Self.trimmed(pair[pair.index(after: equals)...])
                if value.utf8.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
                    value = value.dropFirst().dropLast()
                }
                if SessionID.isWellFormed(value) {
                    found.id = value
                    return found
                }
            }
        }
        return found
    }

    private static func trimmed(_ text: Substring) -> Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = text.firstIndex(where: { !isSpace($0) }), let last = text.lastIndex(where: { !isSpace($0) }) else {
            return text[text.endIndex...]
        }
        return text[first...last]
    }
}
