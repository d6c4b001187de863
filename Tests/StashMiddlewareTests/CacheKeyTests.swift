import HTTPTypes
import StashMiddleware
import StashTesting
import Testing

/// The default cache key, built byte by byte for ASCII queries, against the key built from `String` parts.
@Suite struct CacheKeyTests {
    /// The key as `String` operations build it: the parameters split on `&`, empty ones dropped, sorted, joined.
    static func reference(_ target: String) -> String {
        guard let questionMark = target.firstIndex(of: "?") else { return "GET " + (target.isEmpty ? "/" : target) }
        let path = target[..<questionMark]
        let parameters = target[target.index(after: questionMark)...].split(separator: "&").sorted()
        return "GET " + (path.isEmpty ? "/" : path) + (parameters.isEmpty ? "" : "?" + parameters.joined(separator: "&"))
    }

    @Test(arguments: [
        ("/a?é=1&b=2", "GET /a?b=2&é=1"), ("/a?b=2&é=1", "GET /a?b=2&é=1"), ("?", "GET /"), ("?&&", "GET /"),
        ("/a?ab&a&aa", "GET /a?a&aa&ab"), ("/é?b&a", "GET /é?a&b"),
    ])
    func unusualTargetsKeepTheirKeys(path: String, key: String) {
        #expect(ResponseCache.defaultKey(for: CacheTest.request(path)) == key)
    }

    @Test func aQueryOfManyParametersIsSortedToo() {
        let parameters = (0..<200).map { "p\($0)=\($0)" }
        let key = ResponseCache.defaultKey(for: CacheTest.request("/many?" + parameters.reversed().joined(separator: "&")))
        #expect(key == "GET /many?" + parameters.sorted().joined(separator: "&"))
    }

    @Test func randomTargetsGetTheKeyOfTheStringOperations() {
        var random = SplitMix64(seed: 0xCAC4E)
        let alphabet = Array("ab=&?/%-_.~A0")
        for _ in 0..<5_000 {
            let length = Int.random(in: 0...24, using: &random)
            var target = "/"
            for _ in 0..<length { target.append(alphabet.randomElement(using: &random)!) }
            if Int.random(in: 0..<10, using: &random) == 0 { target.removeFirst() }
            let key = ResponseCache.defaultKey(for: CacheTest.request(target))
            #expect(key == Self.reference(target), "\(target)")
        }
    }
}
