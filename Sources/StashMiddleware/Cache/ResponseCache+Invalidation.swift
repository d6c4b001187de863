public import HTTPTypes
import Logging
import Metrics
import Stash

extension ResponseCache {
    /// The methods RFC 9110 (§9.2.1) defines as safe: a request with any other method may change the resource, and
    /// its non-error response invalidates what is stored for it.
    static let safeMethods: Set<HTTPRequest.Method> = [.get, .head, .options, .trace]

    /// Passes a request with an unsafe method (`POST`, `PUT`, `DELETE`, `PATCH`, …) to the handler, then, when the
    /// response is not an error (a 2xx or 3xx status), removes what the cache stores for the target URI — every
    /// variant, of every cached method — and for the same-origin URIs the response names in `Location` and
    /// `Content-Location` (RFC 9111 §4.4), and every response with a tag the response lists in
    /// ``Configuration/tagField`` (taken off it). The entries are removed from the store, so every instance sharing it
    /// stops serving them. A store that fails is logged and counted; the response goes out as the handler gave it.
    func passUnsafe(_ request: StashRequest, next: (StashRequest) async throws -> StashResponse) async throws -> StashResponse {
        self.metrics.bypass.increment()
        var response = try await next(request)
        self.addStatus(CacheStatus(forward: .method), to: &response)
        let tags = self.takeTags(from: &response) ?? []
        guard (200..<400).contains(response.head.status.code) else { return response }
        var paths = [request.head.path ?? "/"]
        for name in [HTTPField.Name.location, .contentLocation] {
            if let value = response.head.headerFields.value(of: name), let path = Self.sameOriginPath(value, of: request.head) {
                paths.append(path)
            }
        }
        do {
            for path in paths {
                for method in self.configuration.methods { try await self.invalidate(path: path, method: method) }
            }
            for tag in tags { try await self.invalidate(tag: tag) }
            self.metrics.invalidated.increment()
        } catch {
            self.metrics.storeError.increment(recording: error)
            self.configuration.logger.debug(
                "response cache invalidation after an unsafe request failed",
                metadata: ["method": "\(request.head.method)", "paths": "\(paths)", "tags": "\(tags)", "error": "\(error)"]
            )
        }
        return response
    }

    /// The path (with its query) of a `Location` or `Content-Location` value when it names the request's own origin:
    /// a path starting with `/`, or an absolute `http(s)` URI whose scheme (when the request has one) and authority
    /// are the request's. Anything else — another host, a scheme-relative `//host/…`, a relative path — is `nil`.
    static func sameOriginPath(_ value: String, of request: HTTPRequest) -> String? {
        let value = String(value[...].trimmingWhitespace())
        if value.hasPrefix("/") { return value.hasPrefix("//") ? nil : Self.withoutFragment(value) }
        guard let schemeEnd = value.firstRange(of: "://") else { return nil }
        let scheme = value[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https", request.scheme.map({ $0.lowercased() == scheme }) ?? true else { return nil }
        let rest = value[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        guard let own = request.authority, !authority.isEmpty, authority.lowercased() == own.lowercased() else { return nil }
        let path = rest[authorityEnd...]
        return Self.withoutFragment(path.hasPrefix("/") ? String(path) : "/" + path)
    }

    private static func withoutFragment(_ uri: String) -> String {
        uri.firstIndex(of: "#").map { String(uri[..<$0]) } ?? uri
    }

    /// Removes the stored responses of one URL: every variant, whatever its `Vary` field values.
    /// - Parameters:
    ///   - path: The path, with its query if the key includes one (the default key sorts the parameters, so their
    ///     order does not matter).
    ///   - method: The method whose responses to remove.
    /// - Throws: What the store throws.
    /// - Note: A custom ``Configuration/key`` is given a request with only this method and path.
    public func invalidate(path: String, method: HTTPRequest.Method = .get) async throws {
        let request = StashRequest(head: HTTPRequest(method: method, scheme: nil, authority: nil, path: path))
        guard let key = self.configuration.key(request) else { return }
        let base = CacheKeys.storeKey(base: key)
        try await self.store.delete(base)
        for variant in try await CacheIndex.take(.url, name: base, store: self.store, now: self.now()) {
            try await self.store.delete(variant)
        }
    }

    /// Removes every stored response with a tag — those whose handler listed it in ``Configuration/tagField`` — on
    /// every instance sharing the store. The set of tagged responses is kept in the store beside them (a record per
    /// tag and per day), so nothing is listed.
    /// - Throws: What the store throws.
    public func invalidate(tag: String) async throws {
        guard !tag.isEmpty else { return }
        for key in try await CacheIndex.take(.tag, name: tag, store: self.store, now: self.now()) {
            try await self.store.delete(key)
        }
        self.metrics.invalidated.increment()
    }

    /// Removes every stored response: the store's `deleteAll`, so give the cache a store (or namespace) of its own.
    /// - Throws: What the store throws.
    public func invalidateAll() async throws {
        try await self.store.deleteAll()
    }
}
