import HTTPTypes

/// The `If-None-Match` evaluation of RFC 9110 §13.1.2 against a stored `ETag`, with the weak comparison it asks for.
enum EntityTagMatch {
    /// Whether any `If-None-Match` line of a request names the stored entity tag (or is `*`): then the client's copy
    /// is current and a 304 answers it.
    ///
    /// A list member that is not an entity tag stops the reading of its line; the members before it still count.
    static func clientHasCurrentCopy(_ requestFields: HTTPFields, storedETag: String) -> Bool {
        let stored = Self.opaqueTag(storedETag.utf8[...])
        for field in requestFields where field.name == .ifNoneMatch {
            if Self.matches(field.value.utf8[...], stored: stored) { return true }
        }
        return false
    }

    /// Whether two entity tags are the same by the weak comparison (RFC 9110 §8.8.3.2): the same opaque tag, either
    /// or both weak. Tags that are not entity tags match nothing.
    static func weaklyEqual(_ a: String, _ b: String) -> Bool {
        guard let first = Self.opaqueTag(a.utf8[...]), let second = Self.opaqueTag(b.utf8[...]) else { return false }
        return first.elementsEqual(second)
    }

    /// The opaque part of an entity tag (the quoted string, quotes included), without a `W/` prefix.
    private static func opaqueTag(_ tag: Substring.UTF8View) -> Substring.UTF8View? {
        var tag = tag
        while let first = tag.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") { tag = tag.dropFirst() }
        while let last = tag.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") { tag = tag.dropLast() }
        if tag.starts(with: "W/".utf8) { tag = tag.dropFirst(2) }
        guard tag.count >= 2, tag.first == UInt8(ascii: "\""), tag.last == UInt8(ascii: "\"") else { return nil }
        guard !tag.dropFirst().dropLast().contains(UInt8(ascii: "\"")) else { return nil }
        return tag
    }

    private static func matches(_ list: Substring.UTF8View, stored: Substring.UTF8View?) -> Bool {
        var index = list.startIndex
        while index < list.endIndex {
            let byte = list[index]
            if byte == UInt8(ascii: ",") || byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") {
                index = list.index(after: index)
                continue
            }
            // `*` matches whenever a representation is stored.
            if byte == UInt8(ascii: "*") { return true }
            if byte == UInt8(ascii: "W") {
                let slash = list.index(after: index)
                guard slash < list.endIndex, list[slash] == UInt8(ascii: "/") else { return false }
                index = list.index(after: slash)
            }
            guard index < list.endIndex, list[index] == UInt8(ascii: "\"") else { return false }
            let start = index
            index = list.index(after: index)
            while index < list.endIndex, list[index] != UInt8(ascii: "\"") { index = list.index(after: index) }
            guard index < list.endIndex else { return false }
            index = list.index(after: index)
            if let stored, list[start..<index].elementsEqual(stored) { return true }
        }
        return false
    }
}
