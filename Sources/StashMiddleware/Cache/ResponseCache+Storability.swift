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

    /// Decides whether a response may be stored: never one that is streamed, too large, of another status, one whose
    /// handler read or changed the session, one that sets a cookie or is `no-store` or `private`, one that varies on
    /// everything, an answer to a request that forbids storing, or an answer to a request with `Authorization`
    /// unless the response is `public` or has an `s-maxage`. Unless ``Configuration/honorsResponseNoCache`` is off,
    /// nor one that says `no-cache`, or whose `s-maxage` (or else `max-age`) is 0.
    ///
    /// With ``Configuration/usesResponseFreshness``, the response's own lifetime (RFC 9111 §4.2.1: `s-maxage`, then
    /// `max-age`, then `Expires` − `Date`) counts from the age it arrived with (§4.2.3: its `Age` plus the time the
    /// handler took, or the time since its `Date` if that is more); a response already stale on arrival, or whose
    /// `Expires` is not a valid date, is not stored.
    /// - Parameter requestTime: When the handler was called, in milliseconds since the epoch on the cache's clock.
    func storability(of response: StashResponse, for request: StashRequest, context: MissContext, requestTime: Int64) -> Storability {
        if response.isBodyStreamed { return .uncacheable("streamed") }
        // A 206 answers one range of one request: replayed, it would stand for the whole (this cache has no ranges).
        if response.head.status.code == 206 { return .uncacheable("status") }
        if !self.configuration.cacheableStatuses.contains(response.head.status.code), !self.storesByOwnFreshness(response) {
            return .uncacheable("status")
        }
        if response.body.readableBytes > self.configuration.maximumBodySize { return .uncacheable("too-large") }
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
        // A shared cache goes by `s-maxage` first (RFC 9111 §5.2.2.10).
        let freshness = directives.sharedMaxAge ?? directives.maxAge
        if self.configuration.honorsResponseNoCache {
            if directives.noCache { return .uncacheable("no-cache") }
            if freshness == 0 { return .uncacheable("max-age") }
        }
        var lifetime = context.lifetime
        var age: Int64 = 0
        if self.configuration.usesResponseFreshness {
            let now = self.now()
            let explicit: Int64?
            if let seconds = freshness {
                explicit = seconds > 0 ? ResponseFreshness.milliseconds(seconds) : nil
            } else {
                explicit = followsExpires ? ResponseFreshness.expiresLifetime(fields, now: now) : nil
            }
            if let explicit {
                age = ResponseFreshness.initialAge(fields, requestTime: requestTime, responseTime: now)
                guard explicit > age else { return .uncacheable("stale") }
                lifetime = .duration(.milliseconds(explicit))
            }
        }
        guard case .some(let milliseconds) = lifetime.milliseconds else { return .uncacheable("lifetime") }
        return .storable(lifetime: milliseconds, age: age, varyNames: varyNames)
    }

    /// Whether a response of a status outside ``Configuration/cacheableStatuses`` may be stored anyway: with
    /// ``Configuration/usesResponseFreshness``, any final status whose response gives its own freshness (`s-maxage`,
    /// `max-age` or `Expires`; RFC 9111 §3), but a partial 206 and a 304, which answer one request only.
    func storesByOwnFreshness(_ response: StashResponse) -> Bool {
        let code = response.head.status.code
        guard self.configuration.usesResponseFreshness, code >= 200, code != 206, code != 304 else { return false }
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
