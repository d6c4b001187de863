/// What the stores that take a URL (`redis://`, `postgres://`) share about it.
package enum StoreURL {
    /// The URL with the password of its authority replaced by `***`, for messages and logs; a URL without one is
    /// returned as it is. Only the authority is looked at (up to the first `/` or `?` after the scheme), so an `@` or
    /// a `:` in the path or the query is never mistaken for one. In `redis://` and `rediss://` URLs, credentials
    /// without a `:` are a password alone (`redis://secret@host`, as redis-cli reads them); elsewhere they are a user.
    package static func redactingPassword(_ url: String) -> String {
        guard let colon = url.firstIndex(of: ":"), url[colon...].hasPrefix("://") else { return url }
        let scheme = url[..<colon].lowercased()
        let afterScheme = url[url.index(colon, offsetBy: 3)...]
        let authorityEnd = afterScheme.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? afterScheme.endIndex
        let authority = afterScheme[..<authorityEnd]
        guard let at = authority.lastIndex(of: "@") else { return url }
        if let colon = authority[..<at].firstIndex(of: ":") {
            return String(url[..<authority.index(after: colon)]) + "***" + String(url[at...])
        }
        guard scheme == "redis" || scheme == "rediss" else { return url }
        return String(url[..<authority.startIndex]) + "***" + String(url[at...])
    }

    /// The text with its `%XX` escapes decoded, or `nil` when an escape is not two hexadecimal digits or the bytes
    /// are not UTF-8.
    package static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(Self.hexValue), let low = iterator.next().flatMap(Self.hexValue) else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
