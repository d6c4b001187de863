import HTTPTypes

extension HTTPFields {
    private static let privateCacheControl = HTTPField(name: .cacheControl, value: "private")
    private static let varyCookie = HTTPField(name: .vary, value: "Cookie")

    /// Marks a response as depending on the request's session, for every cache it passes: `Cache-Control: private`,
    /// so that no shared cache stores it (the user's own browser may), and `Vary: Cookie`, so that a cache that does
    /// store it keys it by the cookie. What the handler said is kept: a response that is wholly `private` or
    /// `no-store` already gets no `private`, and one that varies on `*` or on `Cookie` gets no `Vary`. Each field
    /// stays one line, for the downstream caches that read only the first.
    mutating func markDependingOnSession() {
        // Most responses have neither field: the two prebuilt fields are appended as they are, after one copy of
        // the handler's fields with room for both.
        self.reserveCapacity(self.count + 2)
        if !self.contains(.cacheControl) {
            self.append(Self.privateCacheControl)
        } else {
            let directives = CacheControl(self)
            if !directives.isWhollyPrivate && !directives.noStore {
                self[values: .cacheControl] = [Self.appending("private", to: self[values: .cacheControl])]
            }
        }
        if !self.contains(.vary) {
            self.append(Self.varyCookie)
        } else {
            let vary = self[values: .vary]
            let members = vary.flatMap { $0.split(separator: ",") }.map { $0.trimmingWhitespace() }
            if !members.contains(where: { $0 == "*" || $0.lowercased() == "cookie" }) {
                self[values: .vary] = [Self.appending("Cookie", to: vary)]
            }
        }
    }

    /// One field value: the non-empty values of a field's lines and `member`, comma-separated.
    private static func appending(_ member: String, to values: [String]) -> String {
        (values.map { $0[...].trimmingWhitespace() }.filter { !$0.isEmpty }.map(String.init) + [member]).joined(separator: ", ")
    }
}
