import HTTPTypes

/// The `Cache-Control` directives the response cache acts on, read leniently from every `Cache-Control` field line.
///
/// Directive names are case-insensitive; values may be tokens or quoted strings (with `\` escapes); spaces, empty
/// list members and garbage between commas are skipped. A `max-age` or `s-maxage` whose value is not a number of
/// seconds is ignored; when one appears twice, the smaller value counts. `private` and `no-cache` with a field-name
/// list count as the plain directive: the cache cannot store a response with some fields left out.
struct CacheControl: Sendable {
    var noStore = false
    var noCache = false
    var isPrivate = false
    /// Whether `private` appears without a field-name list: the whole response is for one user (a shared cache may
    /// store a response that is `private` for some fields only, without them).
    var isWhollyPrivate = false
    var isPublic = false
    /// `must-revalidate` or `proxy-revalidate`: once stale, never served without revalidation.
    var mustRevalidate = false
    var maxAge: Int64?
    var sharedMaxAge: Int64?

    init() {}

    /// Reads the directives of every `Cache-Control` line of a header section.
    init(_ fields: HTTPFields) {
        for field in fields where field.name == .cacheControl {
            self.read(field.value.utf8[...])
        }
    }

    /// Reads the directives of every line of a field with these directives under another name: a targeted field
    /// (RFC 9213) such as `CDN-Cache-Control`.
    init(_ fields: HTTPFields, name: HTTPField.Name) {
        for field in fields where field.name == name {
            self.read(field.value.utf8[...])
        }
    }

    /// Whether no directive this cache acts on was read.
    var isEmpty: Bool {
        !self.noStore && !self.noCache && !self.isPrivate && !self.isPublic && !self.mustRevalidate && self.maxAge == nil && self.sharedMaxAge == nil
    }

    /// Reads the directives of one field value.
    init(parsing value: String) {
        self.read(value.utf8[...])
    }

    private mutating func read(_ bytes: Substring.UTF8View) {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            // One list member: a name, maybe `=` and a value, then anything up to the next comma is garbage.
            while index < bytes.endIndex, Self.isSeparator(bytes[index]) { index = bytes.index(after: index) }
            let nameStart = index
            while index < bytes.endIndex, Self.isTokenByte(bytes[index]) { index = bytes.index(after: index) }
            let name = bytes[nameStart..<index]
            while index < bytes.endIndex, Self.isSpace(bytes[index]) { index = bytes.index(after: index) }
            var value: Substring.UTF8View?
            if index < bytes.endIndex, bytes[index] == UInt8(ascii: "=") {
                index = bytes.index(after: index)
                while index < bytes.endIndex, Self.isSpace(bytes[index]) { index = bytes.index(after: index) }
                if index < bytes.endIndex, bytes[index] == UInt8(ascii: "\"") {
                    index = bytes.index(after: index)
                    let valueStart = index
                    while index < bytes.endIndex, bytes[index] != UInt8(ascii: "\"") {
                        if bytes[index] == UInt8(ascii: "\\") { index = bytes.index(after: index) }
                        if index < bytes.endIndex { index = bytes.index(after: index) }
                    }
                    value = bytes[valueStart..<index]
                    if index < bytes.endIndex { index = bytes.index(after: index) }
                } else {
                    let valueStart = index
                    while index < bytes.endIndex, Self.isTokenByte(bytes[index]) { index = bytes.index(after: index) }
                    value = bytes[valueStart..<index]
                }
            }
            if !name.isEmpty { self.apply(name: name, value: value) }
            // Skip whatever else this member holds, up to the comma that ends it.
            while index < bytes.endIndex, bytes[index] != UInt8(ascii: ",") {
                if bytes[index] == UInt8(ascii: "\"") {
                    index = bytes.index(after: index)
                    while index < bytes.endIndex, bytes[index] != UInt8(ascii: "\"") { index = bytes.index(after: index) }
                }
                if index < bytes.endIndex { index = bytes.index(after: index) }
            }
        }
    }

    private mutating func apply(name: Substring.UTF8View, value: Substring.UTF8View?) {
        if Self.equalsIgnoringCase(name, "no-store") {
            self.noStore = true
        } else if Self.equalsIgnoringCase(name, "no-cache") {
            self.noCache = true
        } else if Self.equalsIgnoringCase(name, "private") {
            self.isPrivate = true
            if value == nil { self.isWhollyPrivate = true }
        } else if Self.equalsIgnoringCase(name, "public") {
            self.isPublic = true
        } else if Self.equalsIgnoringCase(name, "must-revalidate") || Self.equalsIgnoringCase(name, "proxy-revalidate") {
            self.mustRevalidate = true
        } else if Self.equalsIgnoringCase(name, "max-age") {
            if let seconds = value.flatMap(Self.seconds) { self.maxAge = min(self.maxAge ?? .max, seconds) }
        } else if Self.equalsIgnoringCase(name, "s-maxage") {
            if let seconds = value.flatMap(Self.seconds) { self.sharedMaxAge = min(self.sharedMaxAge ?? .max, seconds) }
        }
    }

    /// A delta-seconds value: decimal digits only; values too large for 64 bits saturate.
    private static func seconds(_ value: Substring.UTF8View) -> Int64? {
        guard !value.isEmpty else { return nil }
        var result: Int64 = 0
        for byte in value {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (multiplied, overflow1) = result.multipliedReportingOverflow(by: 10)
            let (added, overflow2) = multiplied.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
            result = overflow1 || overflow2 ? .max : added
        }
        return result
    }

    private static func equalsIgnoringCase(_ bytes: Substring.UTF8View, _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        return lowercase.withUTF8Buffer { expected in
            zip(bytes, expected).allSatisfy { byte, wanted in
                (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte) == wanted
            }
        }
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")
    }

    private static func isSeparator(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: ",") || Self.isSpace(byte)
    }

    /// A `tchar` of RFC 9110: what a token (a directive name or unquoted value) is made of.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }
}
