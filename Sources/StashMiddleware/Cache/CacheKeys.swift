import Crypto
import HTTPTypes
import Stash

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The store keys of the response cache.
///
/// A URL's base key (by default method, path and sorted query) holds either its response, when the response has
/// no `Vary`, or a vary record naming the request fields its responses vary on; each variant then lives under the
/// base key, a separator, and the values the request gave those fields. Every variant of a URL thus shares a key
/// prefix, and joins its URL's set in ``CacheIndex``, which is how ``ResponseCache/invalidate(path:method:)`` finds
/// them all. Keys too long for a store are replaced by their SHA-256 digest.
enum CacheKeys {
    /// Separates a base key from a variant's field values: a control character, which no header value holds.
    static let variantSeparator: Character = "\u{1F}"
    /// The longest base key kept as it is; longer ones are hashed, leaving room for the variant part.
    static let maximumBaseKeyLength = StoreLimits.maximumKeyLength / 2

    /// The default base key of a request: `METHOD /path?query`, the query's `&`-separated parameters sorted, so
    /// `?b=2&a=1` and `?a=1&b=2` share an entry.
    static func defaultKey(for request: StashRequest) -> String? {
        let target = request.head.path ?? "/"
        let method = request.head.method.rawValue
        // Byte by byte when the query is ASCII (byte order is then the order of `sorted()`): at most one allocation.
        let fast = target.utf8.withContiguousStorageIfAvailable { bytes in
            Self.asciiKey(method: method, target: bytes)
        }
        switch fast {
        case .some(.some(.some(let key))): return key
        case .some(.some(.none)): return method + " " + (target.isEmpty ? "/" : target)
        default: return Self.sortedKey(method: method, target: target)
        }
    }

    /// The most query parameters sorted on the stack; a longer query takes the general path.
    private static let maximumFastParameters = 64

    /// The key of a target whose query is ASCII, built in one allocation.
    /// - Returns: `nil` when the general path must build it (a non-ASCII query, too many parameters); `.some(nil)`
    ///   when the key is `method` and the target as it is.
    private static func asciiKey(method: String, target: UnsafeBufferPointer<UInt8>) -> String?? {
        guard let questionMark = target.firstIndex(of: UInt8(ascii: "?")) else { return .some(nil) }
        let query = UnsafeBufferPointer(rebasing: target[(questionMark + 1)...])
        var count = 0
        var sorted = true
        var previous: Range<Int>?
        var start = 0
        // One pass: ASCII, how many non-empty parameters, and whether they are in order already.
        for index in 0...query.count {
            if index < query.count {
                let byte = query[index]
                if byte >= 0x80 { return nil }
                if byte != UInt8(ascii: "&") { continue }
            }
            let parameter = start..<index
            start = index + 1
            if parameter.isEmpty {
                sorted = false
                continue
            }
            count += 1
            if let previous, Self.precedes(parameter, previous, in: query) { sorted = false }
            previous = parameter
        }
        if sorted, count > 0, questionMark > 0 { return .some(nil) }
        guard count <= Self.maximumFastParameters else { return nil }
        return withUnsafeTemporaryAllocation(of: Range<Int>.self, capacity: max(count, 1)) { parameters in
            var filled = 0
            var start = 0
            for index in 0...query.count where index == query.count || query[index] == UInt8(ascii: "&") {
                if index > start {
                    parameters.initializeElement(at: filled, to: start..<index)
                    filled += 1
                }
                start = index + 1
            }
            var ranges = UnsafeMutableBufferPointer(rebasing: parameters[..<filled])
            ranges.sort { Self.precedes($0, $1, in: query) }
            defer { ranges.deinitialize() }
            let path = UnsafeBufferPointer(rebasing: target[..<questionMark])
            let pathLength = path.isEmpty ? 1 : path.count
            let queryLength = filled == 0 ? 0 : ranges.reduce(filled) { $0 + $1.count }
            let length = method.utf8.count + 1 + pathLength + queryLength
            return String(unsafeUninitializedCapacity: length) { key in
                var offset = key.initialize(fromContentsOf: method.utf8)
                key[offset] = UInt8(ascii: " ")
                offset += 1
                if path.isEmpty {
                    key[offset] = UInt8(ascii: "/")
                    offset += 1
                } else {
                    offset = UnsafeMutableBufferPointer(rebasing: key[offset...]).initialize(fromContentsOf: path) + offset
                }
                for (position, range) in ranges.enumerated() {
                    key[offset] = position == 0 ? UInt8(ascii: "?") : UInt8(ascii: "&")
                    offset += 1
                    let parameter = UnsafeBufferPointer(rebasing: query[range])
                    offset = UnsafeMutableBufferPointer(rebasing: key[offset...]).initialize(fromContentsOf: parameter) + offset
                }
                return offset
            }
        }
    }

    /// Whether parameter `a` sorts before `b`: their bytes compared, a prefix first.
    private static func precedes(_ a: Range<Int>, _ b: Range<Int>, in query: UnsafeBufferPointer<UInt8>) -> Bool {
        let common = min(a.count, b.count)
        if common > 0, let base = query.baseAddress {
            let order = memcmp(base + a.lowerBound, base + b.lowerBound, common)
            if order != 0 { return order < 0 }
        }
        return a.count < b.count
    }

    /// The key built from `String` parts, for any target: the reference the byte path agrees with.
    static func sortedKey(method: String, target: String) -> String {
        guard let questionMark = target.utf8.firstIndex(of: UInt8(ascii: "?")) else {
            return method + " " + (target.isEmpty ? "/" : target)
        }
        let path = target[..<questionMark]
        var key = method + " " + (path.isEmpty ? "/" : path)
        let query = target[target.utf8.index(after: questionMark)...]
        let parameters = query.split(separator: "&", omittingEmptySubsequences: true)
        if !parameters.isEmpty {
            key += "?" + parameters.sorted().joined(separator: "&")
        }
        return key
    }

    /// A base key the stores accept: `key` itself, or its digest when it is too long or empty.
    static func storeKey(base key: String) -> String {
        guard key.utf8.count > Self.maximumBaseKeyLength || key.isEmpty else { return key }
        return "#" + SHA256.hexDigest(key.utf8)
    }

    /// The prefix every variant key of a base key starts with.
    static func variantPrefix(base: String) -> String {
        base + String(Self.variantSeparator)
    }

    /// The key of the variant a request selects among responses that vary on `names`.
    ///
    /// Each name contributes `name=values` (its lines joined by `, `), or the bare name when the request lacks the
    /// field, so a missing field and an empty one are different variants.
    static func variantKey(base: String, names: [HTTPField.Name], request: HTTPFields) -> String {
        var variant = ""
        for (offset, name) in names.enumerated() {
            if offset > 0 { variant.append(Self.variantSeparator) }
            variant += name.canonicalName
            let values = request[values: name]
            if !values.isEmpty {
                variant += "=" + values.joined(separator: ", ")
            }
        }
        let prefix = Self.variantPrefix(base: base)
        guard prefix.utf8.count + variant.utf8.count > StoreLimits.maximumKeyLength else { return prefix + variant }
        return prefix + "#" + SHA256.hexDigest(variant.utf8)
    }

    /// The field names a `Vary` value lists, canonical, sorted and without repeats.
    /// - Returns: The names, or `nil` for `Vary: *` or a name that is not a field name (such a response is not
    ///   cached).
    static func varyNames(_ fields: HTTPFields) -> [HTTPField.Name]? {
        var names: [HTTPField.Name] = []
        for field in fields where field.name == .vary {
            for member in field.value.split(separator: ",") {
                let trimmed = member.trimmingWhitespace()
                if trimmed.isEmpty { continue }
                guard trimmed != "*", let name = HTTPField.Name(String(trimmed)) else { return nil }
                if !names.contains(name) { names.append(name) }
            }
        }
        return names.sorted { $0.canonicalName < $1.canonicalName }
    }
}
