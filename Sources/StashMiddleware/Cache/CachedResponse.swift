import HTTPTypes
import NIOCore

/// A stored response: what the handler answered, when it was stored and for how long it is fresh.
struct CachedResponse: Sendable {
    /// The status, reason phrase included, and the header fields as the handler sent them, less the hop-by-hop
    /// ones and `Age`: kept as one response head, so that a hit copies it instead of building one.
    var head: HTTPResponse
    /// The whole body.
    var body: ByteBuffer
    /// When it was stored, in milliseconds since the Unix epoch on the cache's clock.
    var storedAt: Int64
    /// How long it stays fresh, in milliseconds; `nil` for ever.
    var lifetime: Int64?

    /// Fields that describe one connection, not the response: never stored. `Age` is computed on every hit.
    static let unstoredFields: [HTTPField.Name] = [
        .connection, .keepAlive, .transferEncoding, .te, .trailer, .upgrade, .proxyAuthenticate, .age,
    ]

    /// The entry for a response the handler gave, stored at `storedAt`.
    init(response: StashResponse, storedAt: Int64, lifetime: Int64?) {
        var head = response.head
        let fields = head.headerFields
        if Self.unstoredFields.contains(where: fields.contains) {
            let named = fields[values: .connection].flatMap { $0.split(separator: ",") }.compactMap {
                HTTPField.Name(String($0.trimmingWhitespace()))
            }
            head.headerFields = HTTPFields(fields.filter { !Self.unstoredFields.contains($0.name) && !named.contains($0.name) })
        }
        self.init(head: head, body: response.body, storedAt: storedAt, lifetime: lifetime)
    }

    init(status: HTTPResponse.Status, headerFields: HTTPFields, body: ByteBuffer, storedAt: Int64, lifetime: Int64?) {
        self.init(head: HTTPResponse(status: status, headerFields: headerFields), body: body, storedAt: storedAt, lifetime: lifetime)
    }

    init(head: HTTPResponse, body: ByteBuffer, storedAt: Int64, lifetime: Int64?) {
        self.head = head
        self.body = body
        self.storedAt = storedAt
        self.lifetime = lifetime
    }

    /// The status, reason phrase included.
    var status: HTTPResponse.Status {
        self.head.status
    }

    /// The stored header fields.
    var headerFields: HTTPFields {
        self.head.headerFields
    }

    /// How old the entry is at `now`, in milliseconds (never negative, whatever the clocks did).
    func age(at now: Int64) -> Int64 {
        max(0, now &- self.storedAt)
    }

    /// How long the entry stays fresh at `now`, in milliseconds, negative once stale; `nil` when it is fresh for ever.
    func freshness(at now: Int64) -> Int64? {
        self.lifetime.map { $0 &- self.age(at: now) }
    }
}

extension Substring {
    /// The substring without leading and trailing spaces and tabs.
    func trimmingWhitespace() -> Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" { result = result.dropFirst() }
        while let last = result.last, last == " " || last == "\t" { result = result.dropLast() }
        return result
    }
}
