public import HTTPTypes

extension HTTPField.Name {
    /// `Cache-Status` (RFC 9211): how each cache on the way handled the request.
    public static let cacheStatus = Self("Cache-Status")!
    /// `Pragma` (RFC 9111): `no-cache` from HTTP/1.0 clients.
    static let pragma = Self("Pragma")!
    /// `Keep-Alive`, a hop-by-hop field that is never stored.
    static let keepAlive = Self("Keep-Alive")!
}
