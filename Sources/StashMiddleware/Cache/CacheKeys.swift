import Crypto
import HTTPTypes
import Stash

/// The store keys of the response cache.
///
/// A URL's base key (by default method, path and sorted query) holds either its response, when the response has
/// no `Vary`, or a vary record naming the request fields its responses vary on; each variant then lives under the
/// base key, a separator, and the values the request gave those fields. Every variant of a URL thus shares a key
/// prefix, which is how ``ResponseCache/invalidate(path:method:)`` finds them all. Keys too long for a store are
/// replaced by their SHA-256 digest.
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
        guard let questionMark = target.utf8.firstIndex(of: UInt8(ascii: "?")) else {
            return method + " " + (target.isEmpty ? "/" : target)
        }
        let query = target[target.utf8.index(after: questionMark)...]
        // The common case, a query already in order, needs no sorting and no copy of its parameters.
        if questionMark != target.startIndex, Self.isSorted(query) {
            return method + " " + target
        }
        let path = target[..<questionMark]
        var key = method + " " + (path.isEmpty ? "/" : path)
        let parameters = query.split(separator: "&", omittingEmptySubsequences: true)
        if !parameters.isEmpty {
            key += "?" + parameters.sorted().joined(separator: "&")
        }
        return key
    }

    /// Whether a query is non-empty, has no empty parameter, and lists its parameters in the order `sorted()` gives.
    private static func isSorted(_ query: Substring) -> Bool {
        guard !query.isEmpty else { return false }
        var previous: Substring?
        var start = query.startIndex
        while true {
            let end = query.utf8[start...].firstIndex(of: UInt8(ascii: "&")) ?? query.endIndex
            let parameter = query[start..<end]
            if parameter.isEmpty { return false }
            if let previous, parameter < previous { return false }
            previous = parameter
            guard end < query.endIndex else { return true }
            start = query.utf8.index(after: end)
        }
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
