extension ResponseCache {
    /// Where a stored response's freshness comes from.
    public enum Mode: Sendable, Hashable {
        /// The application decides (as Litestar's cache does): every stored response is fresh for the lifetime the
        /// configuration gives its route (``Configuration/lifetimeForRequest``, ``Configuration/routeLifetimes``,
        /// ``Configuration/lifetime``), whatever its `max-age` says. The response's headers still keep out what must
        /// not be shared (`private`, `no-store`, `Set-Cookie`) and, unless ``Configuration/honorsResponseNoCache`` is
        /// off, what must not be reused unchecked (`no-cache`, `max-age=0`). The default: handlers need send no
        /// caching headers.
        case configuredLifetimes
        /// The response decides, as a shared HTTP cache does (RFC 9111): its lifetime is its own `s-maxage`, then
        /// `max-age`, then `Expires` − `Date`, counted from the age it arrived with. A response with none of them is
        /// not stored — unless it has a validator (`ETag`, `Last-Modified`): then it is stored stale, to be
        /// revalidated with a conditional request before each use, as is one that says `no-cache` or `max-age=0`. Any
        /// final status with its own freshness may be stored, not only ``Configuration/cacheableStatuses``. The
        /// configured lifetimes only keep routes out (``Lifetime/notCached``); their durations are not used.
        case responseHeaders
    }
}
