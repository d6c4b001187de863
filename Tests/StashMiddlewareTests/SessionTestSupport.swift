import HTTPTypes
import NIOCore
import Stash
import StashMiddleware
import Synchronization
import Testing

/// A store that forwards to another and counts the calls that read and write, so tests can assert that a request
/// cost no store access at all.
struct CountingStore: Store {
    final class Counts: Sendable {
        let reads = Atomic<Int>(0)
        let writes = Atomic<Int>(0)
        let writtenKeys = Locked<[String]>([])
        /// When set, every read (and rate-limit decision) fails as an unreachable server's would.
        let isFailing = Atomic<Bool>(false)
        /// Runs before each `insertRecord`, with its key: how a test lands another request's work in between.
        let beforeInsertRecord = Locked<(@Sendable (String) async throws -> Void)?>(nil)

        func read() { self.reads.add(1, ordering: .relaxed) }
        func write(_ key: String) {
            self.writes.add(1, ordering: .relaxed)
            self.writtenKeys.withLock { $0.append(key) }
        }
        var snapshot: (reads: Int, writes: Int) { (self.reads.load(ordering: .relaxed), self.writes.load(ordering: .relaxed)) }
    }

    let base: any Store
    let counts: Counts

    init(_ base: any Store, counts: Counts = Counts()) {
        self.base = base
        self.counts = counts
    }

    var maximumValueSize: Int { self.base.maximumValueSize }

    func get(_ key: String) async throws -> ByteBuffer? {
        self.counts.read()
        if self.counts.isFailing.load(ordering: .relaxed) { throw StoreError(.unavailable, "the test made the store fail") }
        return try await self.base.get(key)
    }

    func get(_ key: String, renewingFor duration: Duration) async throws -> ByteBuffer? {
        self.counts.write(key)
        return try await self.base.get(key, renewingFor: duration)
    }

    func set(_ key: String, value: ByteBuffer, expiresIn: Duration?) async throws {
        self.counts.write(key)
        try await self.base.set(key, value: value, expiresIn: expiresIn)
    }

    func insert(_ key: String, value: ByteBuffer, expiresIn: Duration?) async throws -> Bool {
        self.counts.write(key)
        return try await self.base.insert(key, value: value, expiresIn: expiresIn)
    }

    func delete(_ key: String) async throws {
        self.counts.write(key)
        try await self.base.delete(key)
    }

    func deleteAll() async throws {
        try await self.base.deleteAll()
    }

    func exists(_ key: String) async throws -> Bool {
        self.counts.read()
        return try await self.base.exists(key)
    }

    func expiry(of key: String) async throws -> KeyExpiry {
        self.counts.read()
        return try await self.base.expiry(of: key)
    }

    func deleteExpired() async throws {
        try await self.base.deleteExpired()
    }

    func increment(_ key: String, by amount: Int64, initialValue: Int64, expiresIn: Duration?) async throws -> Int64 {
        self.counts.write(key)
        return try await self.base.increment(key, by: amount, initialValue: initialValue, expiresIn: expiresIn)
    }

    func update(_ key: String, _ transform: @escaping @Sendable (ByteBuffer?) throws -> StoreUpdate) async throws -> ByteBuffer? {
        self.counts.write(key)
        return try await self.base.update(key, transform)
    }

    func record(_ key: String, renewingFor duration: Duration?) async throws -> [String: ByteBuffer]? {
        if duration == nil { self.counts.read() } else { self.counts.write(key) }
        if self.counts.isFailing.load(ordering: .relaxed) { throw StoreError(.unavailable, "the test made the store fail") }
        return try await self.base.record(key, renewingFor: duration)
    }

    func insertRecord(_ key: String, fields: [String: ByteBuffer], expiresIn: Duration?) async throws -> Bool {
        if let hook = self.counts.beforeInsertRecord.withLock({ $0 }) { try await hook(key) }
        self.counts.write(key)
        return try await self.base.insertRecord(key, fields: fields, expiresIn: expiresIn)
    }

    func mergeRecord(_ key: String, _ changes: RecordChanges) async throws -> RecordMergeResult {
        self.counts.write(key)
        return try await self.base.mergeRecord(key, changes)
    }

    func takeRecord(_ key: String) async throws -> [String: ByteBuffer]? {
        self.counts.write(key)
        return try await self.base.takeRecord(key)
    }

    func rateLimit(_ key: String, rule: RateLimitRule, _ operation: RateLimitOperation) async throws -> RateLimitDecision {
        self.counts.write(key)
        if self.counts.isFailing.load(ordering: .relaxed) { throw StoreError(.unavailable, "the test made the store fail") }
        return try await self.base.rateLimit(key, rule: rule, operation)
    }

    func keys(withPrefix prefix: String) -> StoreKeys {
        self.base.keys(withPrefix: prefix)
    }

    func withNamespace(_ name: String) throws -> CountingStore {
        CountingStore(try self.base.withNamespace(name), counts: self.counts)
    }
}

/// A wall clock that moves only when a test advances it.
final class TestWallClock: Clock, Sendable {
    typealias Instant = WallClock.Instant
    private let current: Locked<Instant>

    init() { self.current = Locked(WallClock().now) }

    var now: Instant { self.current.withLock { $0 } }
    var minimumResolution: Duration { .nanoseconds(1) }

    func advance(by duration: Duration) {
        self.current.withLock { $0 = $0.advanced(by: duration) }
    }

    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        Issue.record("the session middleware must not sleep")
    }
}

/// A `Set-Cookie` value taken apart.
struct SetCookie: Equatable {
    var name: String
    var value: String
    /// Attribute names (as sent) to their values; flags such as `HttpOnly` have `nil`.
    var attributes: [String: String?]

    init(_ header: String) throws {
        let parts = header.split(separator: ";").map { $0.trimmingCharacters(in: " ") }
        let pair = try #require(parts.first?.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false))
        try #require(pair.count == 2, "a cookie pair in \(header)")
        self.name = String(pair[0])
        self.value = String(pair[1])
        var attributes: [String: String?] = [:]
        for part in parts.dropFirst() {
            let attribute = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            #expect(attributes[String(attribute[0])] == nil, "\(attribute[0]) appears once in \(header)")
            attributes[String(attribute[0])] = attribute.count == 2 ? String(attribute[1]) : String?.none
        }
        self.attributes = attributes
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: Character) -> Substring {
        var text = self
        while text.first == set { text = text.dropFirst() }
        while text.last == set { text = text.dropLast() }
        return text
    }
}

/// Requests through a session middleware, as a browser would send them.
enum SessionRequests {
    /// A request with the given `Cookie` field values.
    static func request(cookies: [String] = []) -> StashRequest {
        var fields = HTTPFields()
        for cookie in cookies { fields.append(HTTPField(name: .cookie, value: cookie)) }
        return StashRequest(head: HTTPRequest(method: .get, scheme: "http", authority: "localhost", path: "/", headerFields: fields))
    }

    /// Sends a request with a session cookie (when `id` is given), running `body` on the session in the handler.
    static func send(
        _ middleware: SessionMiddleware,
        id: String? = nil,
        _ body: @escaping @Sendable (Session) throws -> Void = { _ in }
    ) async throws -> StashResponse {
        try await middleware.respond(to: Self.request(cookies: id.map { ["session=\($0)"] } ?? [])) { request in
            try body(try #require(request.session))
            return StashResponse(status: .ok, body: "ok")
        }
    }

    /// The `Set-Cookie` values of a response.
    static func setCookies(_ response: StashResponse) throws -> [SetCookie] {
        try response.head.headerFields[values: .setCookie].map { try SetCookie($0) }
    }

    /// The session id a response's single `Set-Cookie` gives, failing the test when there is not exactly one.
    static func issuedID(_ response: StashResponse) throws -> String {
        let cookies = try Self.setCookies(response)
        try #require(cookies.count == 1, "one Set-Cookie: \(cookies)")
        return cookies[0].value
    }
}
