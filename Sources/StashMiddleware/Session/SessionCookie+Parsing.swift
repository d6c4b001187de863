import HTTPTypes

extension SessionCookie {
    /// What a request's `Cookie` fields say about the session cookie.
    struct Found {
        /// Whether the request carries a cookie of this name at all, well-formed or not.
        var isPresent = false
        /// The first value of that name shaped like a session id.
        var id: String?
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
        for field in fields where field.name == .cookie {
            // Read as UTF-8 bytes in place: the delimiters are ASCII, and a request pays for this on every call.
            let value = field.value
            let id =
                value.utf8.withContiguousStorageIfAvailable { bytes in
                    self.find(in: bytes, isPresent: &found.isPresent)
                }
                ?? Array(value.utf8).withUnsafeBufferPointer { bytes in
                    self.find(in: bytes, isPresent: &found.isPresent)
                }
            if let id {
                found.id = id
                return found
            }
        }
        return found
    }

    /// The first value of this cookie shaped like a session id in one `Cookie` field's bytes, noting whether the
    /// cookie is there at all.
    private func find(in bytes: UnsafeBufferPointer<UInt8>, isPresent: inout Bool) -> String? {
        let name = self.name.utf8
        var start = 0
        while start < bytes.count {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: ";")) ?? bytes.count
            let pair = start..<end
            start = end + 1
            guard let equals = bytes[pair].firstIndex(of: UInt8(ascii: "=")),
                Self.trimmed(start: pair.lowerBound, end: equals, in: bytes).elementsEqual(name)
            else { continue }
            isPresent = true
            var value = Self.trimmed(start: equals + 1, end: pair.upperBound, in: bytes)
            if value.count >= 2, value.first == UInt8(ascii: "\""), value.last == UInt8(ascii: "\"") {
                value = UnsafeBufferPointer(rebasing: value.dropFirst().dropLast())
            }
            if SessionID.isWellFormed(value) {
                // Well-formed ids are ASCII.
                return String(decoding: value, as: UTF8.self)
            }
        }
        return nil
    }

    /// The bytes from `start` to `end` without the spaces and tabs around them.
    private static func trimmed(start: Int, end: Int, in bytes: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        var (start, end) = (start, end)
        while start < end, bytes[start] == UInt8(ascii: " ") || bytes[start] == UInt8(ascii: "\t") { start += 1 }
        while end > start, bytes[end - 1] == UInt8(ascii: " ") || bytes[end - 1] == UInt8(ascii: "\t") { end -= 1 }
        return UnsafeBufferPointer(rebasing: bytes[start..<end])
    }
}
