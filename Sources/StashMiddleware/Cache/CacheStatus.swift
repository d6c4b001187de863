/// One member of the `Cache-Status` field (RFC 9211), a structured-field list item: the cache's name and
/// parameters saying how it handled the request.
struct CacheStatus: Sendable {
    /// Why the request went forward to the handler (the `fwd` parameter).
    enum Forward: String, Sendable {
        /// The method is not one the cache stores.
        case method
        /// The cache was configured not to serve this request (the key builder declined it).
        case bypass
        /// Nothing was stored for the URL.
        case uriMiss = "uri-miss"
        /// Responses for the URL were stored, but not for this request's `Vary` field values.
        case varyMiss = "vary-miss"
        /// The stored response was stale.
        case stale
        /// The request asked for a fresh response (`no-cache`, when honoured).
        case request
    }

    var hit = false
    var forward: Forward?
    /// The status of the handler's response, when the cache cannot pass it on as it is: the 304 that revalidated a
    /// stored response (the `fwd-status` parameter).
    var forwardStatus: Int?
    /// The remaining freshness in seconds, negative once stale.
    var ttl: Int64?
    var stored = false
    /// `true`: collapsed into another request and reused its response; `false`: tried and had to go forward.
    var collapsed: Bool?
    /// Why the response was not stored, or what went wrong: a structured-field token.
    var detail: String?

    /// The member as text, after the cache's name (already serialized).
    func serialized(name: String) -> String {
        var value = name
        if self.hit { value += "; hit" }
        if let forward { value += "; fwd=" + forward.rawValue }
        if let forwardStatus { value += "; fwd-status=" + String(forwardStatus) }
        if let ttl { value += "; ttl=" + String(ttl) }
        if let collapsed { value += collapsed ? "; collapsed" : "; collapsed=?0" }
        if self.stored { value += "; stored" }
        if let detail { value += "; detail=" + detail }
        return value
    }

    /// A cache name as a structured-field token when it is one, else as a string (quotes and backslashes escaped,
    /// characters a string cannot hold dropped).
    static func serializedName(_ name: String) -> String {
        let bytes = Array(name.utf8)
        if let first = bytes.first, Self.isAlpha(first) || first == UInt8(ascii: "*"),
            bytes.dropFirst().allSatisfy({ Self.isTokenByte($0) })
        {
            return name
        }
        var quoted = "\""
        for byte in bytes where byte >= 0x20 && byte <= 0x7E {
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { quoted += "\\" }
            quoted.unicodeScalars.append(Unicode.Scalar(byte))
        }
        return quoted + "\""
    }

    /// The seconds of a millisecond count, rounded down (so a response 1 ms stale has `ttl=-1`).
    static func seconds(_ milliseconds: Int64) -> Int64 {
        milliseconds >= 0 ? milliseconds / 1000 : -((-milliseconds + 999) / 1000)
    }

    private static func isAlpha(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }

    /// `tchar`, `:` or `/`: what a structured-field token may continue with.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        Self.isAlpha(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || "!#$%&'*+-.^_`|~:/".utf8.contains(byte)
    }
}
