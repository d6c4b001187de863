import HTTPTypes
import NIOCore

extension ResponseCache {
    /// Whether a response may be stored, and how.
    enum Storability: Sendable {
        /// Store it for `lifetime` milliseconds (`nil`: for ever), counted from when it is `age` milliseconds old
        /// (the age it arrived with), keyed also by the `varyNames` request fields.
        case storable(lifetime: Int64?, age: Int64, varyNames: [HTTPField.Name])
        /// Do not; `reason` is the `detail` token of `Cache-Status`.
        case uncacheable(String)
    }

    /// Decides whether a response may be stored: never one that is streamed, too large, of another status, refused by
    /// ``Configuration/responseFilter``, one whose handler read or changed the session, one that sets a cookie or is
    /// `no-store` or `private`, one that varies on everything, an answer to a request that forbids storing, or an
    /// answer to a request with `Authorization` unless the response is `public` or has an `s-maxage`.
    ///
    /// In ``Mode/configuredLifetimes``, the lifetime is the configured one; unless
    /// ``Configuration/honorsResponseNoCache`` is off, a response that says `no-cache`, or whose `s-maxage` (or else
    /// `max-age`) is 0, is not stored. In ``Mode/responseHeaders``, the response's own lifetime (RFC 9111 §4.2.1:
    /// `s-maxage`, then `max-age`, then `Expires` − `Date`; `no-cache` makes it 0) counts from the age it arrived
    /// with (§4.2.3: its `Age` plus the time the handler took, or the time since its `Date` if that is more). A
    /// response without a lifetime, or already stale on arrival, is stored only when it has a validator, to be
    /// revalidated before it is used.
    /// - Parameter requestTime: When the handler was called, in milliseconds since the epoch on the cache's clock.
    func storability(of response: StashResponse, for request: StashRequest, context: MissContext, requestTime: Int64) -> Storability {
        if response.isBodyStreamed { return .uncacheable("streamed") }
        // A 206 answers one range of one request: replayed, it would stand for the whole (this cache has no ranges).
        if response.head.status.code == 206 { return .uncacheable("status") }
        let listedStatus = self.configuration.cacheableStatuses.contains(response.head.status.code)
        if !listedStatus, !self.storesByOwnFreshness(response) { return .uncacheable("status") }
        if response.body.readableBytes > self.configuration.maximumBodySize { return .uncacheable("too-large") }
        if let filter = self.configuration.responseFilter, !filter(request, response) { return .uncacheable("filter") }
        if context.directives.noStore { return .uncacheable("request-no-store") }
        // With the session middleware in front of the cache, the handler's response reaches the cache before the
        // session middleware marks it: the session itself tells.
        if request.session?.isAccessed == true { return .uncacheable("session") }
        let fields = response.head.headerFields
        if fields.contains(.setCookie) { return .uncacheable("set-cookie") }
        let (directives, followsExpires) = self.responseDirectives(fields)
        if directives.noStore { return .uncacheable("no-store") }
        if directives.isPrivate { return .uncacheable("private") }
        if request.head.headerFields.contains(.authorization), !directives.isPublic, directives.sharedMaxAge == nil {
            return .uncacheable("authorization")
        }
        guard let varyNames = CacheKeys.varyNames(fields) else { return .uncacheable("vary") }
        if let tags = self.tags(in: fields), tags.count > Self.maximumTags { return .uncacheable("tags") }
        // A shared cache goes by `s-maxage` first (RFC 9111 §5.2.2.10).
        let freshness = directives.sharedMaxAge ?? directives.maxAge
        guard self.configuration.mode == .responseHeaders else {
            if self.configuration.honorsResponseNoCache {
                if directives.noCache { return .uncacheable("no-cache") }
                if freshness == 0 { return .uncacheable("max-age") }
            }
            guard case .some(let milliseconds) = context.lifetime.milliseconds else { return .uncacheable("lifetime") }
            return .storable(lifetime: milliseconds, age: 0, varyNames: varyNames)
        }
        guard case .some = context.lifetime.milliseconds else { return .uncacheable("lifetime") }
        let now = self.now()
        let lifetime: Int64?
        if directives.noCache {
            lifetime = 0
        } else if let seconds = freshness {
            lifetime = ResponseFreshness.milliseconds(seconds)
        } else {
            lifetime = followsExpires ? ResponseFreshness.expiresLifetime(fields, now: now) : nil
        }
        let age = ResponseFreshness.initialAge(fields, requestTime: requestTime, responseTime: now)
        if let lifetime, lifetime > age { return .storable(lifetime: lifetime, age: age, varyNames: varyNames) }
        // Stale on arrival, or without a lifetime: worth keeping only to be revalidated.
        if listedStatus, Self.hasValidator(fields) { return .storable(lifetime: lifetime ?? 0, age: age, varyNames: varyNames) }
        guard let lifetime else { return .uncacheable("no-freshness") }
        if directives.noCache { return .uncacheable("no-cache") }
        return .uncacheable(lifetime == 0 && freshness == 0 ? "max-age" : "stale")
    }

    /// Whether a response has a validator a conditional request can name: an `ETag` or a `Last-Modified`.
    static func hasValidator(_ fields: HTTPFields) -> Bool {
        fields.contains(.eTag) || fields.contains(.lastModified)
    }

    /// Whether a response of a status outside ``Configuration/cacheableStatuses`` may be stored anyway: with
    /// ``Mode/responseHeaders``, any final status whose response gives its own freshness (`s-maxage`, `max-age` or
    /// `Expires`; RFC 9111 §3), but a partial 206 and a 304, which answer one request only.
    func storesByOwnFreshness(_ response: StashResponse) -> Bool {
        let code = response.head.status.code
        guard self.configuration.mode == .responseHeaders, code >= 200, code != 206, code != 304 else { return false }
        let (directives, followsExpires) = self.responseDirectives(response.head.headerFields)
        if followsExpires, response.head.headerFields.contains(.expires) { return true }
        return directives.maxAge != nil || directives.sharedMaxAge != nil
    }

    /// The directives this cache follows for a response: those of the first of ``Configuration/targetedFields``
    /// the response has with a directive this cache acts on — then `Cache-Control` and `Expires` are ignored
    /// (RFC 9213 §2.2) — else `Cache-Control`'s, with `Expires`.
    func responseDirectives(_ fields: HTTPFields) -> (directives: CacheControl, followsExpires: Bool) {
        for name in self.configuration.targetedFields {
            let targeted = CacheControl(fields, name: name)
            if !targeted.isEmpty { return (targeted, false) }
        }
        return (CacheControl(fields), true)
    }
}
