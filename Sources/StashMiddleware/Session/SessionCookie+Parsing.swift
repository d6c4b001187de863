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
        // Read as UTF-8 bytes: the delimiters are ASCII, and a request pays for this on every call.
        var found = Found()
        let name = self.name.utf8
        for field in fields where field.name == .cookie {
            let bytes = field.value.utf8
            var start = bytes.startIndex
            while start < bytes.endIndex {
                let end = bytes[start...].firstIndex(of: UInt8(ascii: ";")) ?? bytes.endIndex
                let pair = bytes[start..<end]
                start = end == bytes.endIndex ? end : bytes.index(after: end)
                guard let equals = pair.firstIndex(of: UInt8(ascii: "=")),
                    Self.trimmed(pair[..<equals]).elementsEqual(name)
                else { continue }
                found.isPresent = true
                var value = Self.trimmed(pair[bytes.index(after: equals)...])
                if value.count >= 2, value.first == UInt8(ascii: "\""), value.last == UInt8(ascii: "\"") {
                    value = value.dropFirst().dropLast()
                }
                let candidate = Substring(value)
                if SessionID.isWellFormed(candidate) {
                    found.id = candidate
                    return found
                }
            }
        }
        return found
    }

    /// The bytes without the spaces and tabs around them.
    private static func trimmed(_ bytes: Substring.UTF8View) -> Substring.UTF8View {
        var bytes = bytes
        while let first = bytes.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") { bytes.removeFirst() }
        while let last = bytes.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") { bytes.removeLast() }
        return bytes
    }
}
