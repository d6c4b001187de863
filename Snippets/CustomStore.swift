// A store of your own: every entry in one dictionary behind a lock, proved by StashTesting's conformance suite.

// snippet.hide
import HTTPTypes
import NIOCore
import Stash
import StashMiddleware
import StashTesting
import Synchronization
import Testing

// snippet.show
// snippet.storage
/// Where an entry lives: its namespace's path (`""` for the root, `"sessions/"`, `"a/b/"`) and its key's UTF-8 bytes.
///
/// The key is kept as bytes because the contract compares keys byte for byte: Swift's `String` equality would make
/// `"caf\u{E9}"` and `"cafe\u{301}"` one key.
struct EntryAddress: Hashable {
    var namespace: String
    var key: [UInt8]
}

/// An entry: its value and when it expires, on the store's clock (`nil`: never).
struct Entry {
    var value: ByteBuffer
    var expiresAt: WallClock.Instant?
}

/// The one stateful object of the store: the root and every namespace share it.
final class DictionaryStorage: Sendable {
    let entries = Mutex<[EntryAddress: Entry]>([:])
}
// snippet.end

// snippet.store
/// A store that keeps every entry in one dictionary behind a `Mutex`: each operation is one hold of the lock, so
/// every operation is atomic and an update never retries.
struct DictionaryStore<C: Clock>: Store where C.Instant == WallClock.Instant, C.Duration == Duration {
    let storage: DictionaryStorage
    let clock: C
    /// This namespace's path: `""` for the root, each name followed by `/` below it.
    let namespace: String

    /// Creates an empty store timed by `clock` (a `ManualClock` in tests, a `WallClock` otherwise).
    init(clock: C) {
        self.init(storage: DictionaryStorage(), clock: clock, namespace: "")
    }

    private init(storage: DictionaryStorage, clock: C, namespace: String) {
        self.storage = storage
        self.clock = clock
        self.namespace = namespace
    }

    var maximumValueSize: Int { 1024 * 1024 }

    func withNamespace(_ name: String) throws -> Self {
        try StoreValidation.validateNamespace(name)
        return Self(storage: self.storage, clock: self.clock, namespace: self.namespace + name + "/")
    }
    // snippet.end

    // snippet.helpers
    private func address(_ key: String) -> EntryAddress {
        EntryAddress(namespace: self.namespace, key: Array(key.utf8))
    }

    /// The entry at an address, removing it when it has expired: an expired key is a missing key.
    private static func live(_ entries: inout [EntryAddress: Entry], _ address: EntryAddress, now: C.Instant) -> Entry? {
        guard let entry = entries[address] else { return nil }
        if let expiresAt = entry.expiresAt, expiresAt <= now {
            entries[address] = nil
            return nil
        }
        return entry
    }

    /// When a time to live of `milliseconds` (already validated and rounded up) ends.
    private func deadline(_ milliseconds: Int64?) -> C.Instant? {
        milliseconds.map { self.clock.now.advanced(by: .milliseconds($0)) }
    }
    // snippet.end

    // snippet.reads
    func get(_ key: String) async throws -> ByteBuffer? {
        try StoreValidation.validateKey(key)
        let now = self.clock.now
        return self.storage.entries.withLock { entries in Self.live(&entries, self.address(key), now: now)?.value }
    }

    func get(_ key: String, renewingFor duration: Duration) async throws -> ByteBuffer? {
        try StoreValidation.validateKey(key)
        let milliseconds: Int64 = try StoreValidation.validateExpiry(duration)
        let expiry = self.deadline(milliseconds)
        let now = self.clock.now
        return self.storage.entries.withLock { entries in
            let address = self.address(key)
            guard var entry = Self.live(&entries, address, now: now) else { return nil }
            // Renewing never gives an expiry to a key that has none.
            if entry.expiresAt != nil {
                entry.expiresAt = expiry
                entries[address] = entry
            }
            return entry.value
        }
    }

    func exists(_ key: String) async throws -> Bool {
        try await self.get(key) != nil
    }

    func expiry(of key: String) async throws -> KeyExpiry {
        try StoreValidation.validateKey(key)
        let now = self.clock.now
        guard let entry = self.storage.entries.withLock({ entries in Self.live(&entries, self.address(key), now: now) }) else {
            return .missing
        }
        guard let expiresAt = entry.expiresAt else { return .never }
        // Rounded up to the millisecond, so a live key never reports zero.
        let (seconds, attoseconds) = now.duration(to: expiresAt).components
        let millisecond: Int64 = 1_000_000_000_000_000
        return .expiresIn(.milliseconds(seconds * 1000 + (attoseconds + millisecond - 1) / millisecond))
    }
    // snippet.end

    // snippet.writes
    func set(_ key: String, value: ByteBuffer, expiresIn: Duration?) async throws {
        let milliseconds = try StoreValidation.validateWrite(key: key, value: value, expiresIn: expiresIn, maximumValueSize: self.maximumValueSize)
        let entry = Entry(value: value, expiresAt: self.deadline(milliseconds))
        self.storage.entries.withLock { entries in entries[self.address(key)] = entry }
    }

    func insert(_ key: String, value: ByteBuffer, expiresIn: Duration?) async throws -> Bool {
        let milliseconds = try StoreValidation.validateWrite(key: key, value: value, expiresIn: expiresIn, maximumValueSize: self.maximumValueSize)
        let now = self.clock.now
        let entry = Entry(value: value, expiresAt: self.deadline(milliseconds))
        return self.storage.entries.withLock { entries in
            let address = self.address(key)
            guard Self.live(&entries, address, now: now) == nil else { return false }
            entries[address] = entry
            return true
        }
    }

    func delete(_ key: String) async throws {
        try StoreValidation.validateKey(key)
        _ = self.storage.entries.withLock { entries in entries.removeValue(forKey: self.address(key)) }
    }

    func increment(_ key: String, by amount: Int64, initialValue: Int64, expiresIn: Duration?) async throws -> Int64 {
        try StoreValidation.validateKey(key)
        let newExpiry = self.deadline(try StoreValidation.validateExpiry(expiresIn))
        let now = self.clock.now
        return try self.storage.entries.withLock { entries throws(StoreError) in
            let address = self.address(key)
            let current = Self.live(&entries, address, now: now)
            // The canonical decimal counter every store shares, with the same errors for a non-integer or an overflow.
            let value = try StoreCounter.incremented(current?.value, by: amount, initialValue: initialValue, key: key)
            // The expiry is set only when the counter is created: a fixed window.
            entries[address] = Entry(value: StoreCounter.encode(value), expiresAt: current == nil ? newExpiry : current?.expiresAt)
            return value
        }
    }

    func update(_ key: String, _ transform: @escaping @Sendable (ByteBuffer?) throws -> StoreUpdate) async throws -> ByteBuffer? {
        try StoreValidation.validateKey(key)
        let now = self.clock.now
        return try self.storage.entries.withLock { entries in
            let address = self.address(key)
            let current = Self.live(&entries, address, now: now)
            // The transform runs under the lock: no other write can come between its read and its write.
            let action = try transform(current?.value)
            let milliseconds = try StoreValidation.validateUpdate(action, maximumValueSize: self.maximumValueSize)
            switch action {
            case .unchanged:
                return current?.value
            case .delete:
                entries[address] = nil
                return nil
            case .set(let value, _):
                entries[address] = Entry(value: value, expiresAt: self.deadline(milliseconds))
                return value
            case .setKeepingExpiry(let value):
                entries[address] = Entry(value: value, expiresAt: current?.expiresAt)
                return value
            }
        }
    }
    // snippet.end

    // snippet.namespaces
    /// Removes this namespace's keys and its children's: their paths start with this one, which ends with `/`, so
    /// namespace `a` never touches a sibling `ab`.
    func deleteAll() async throws {
        self.storage.entries.withLock { entries in
            entries = entries.filter { !$0.key.namespace.hasPrefix(self.namespace) }
        }
    }

    func deleteExpired() async throws {
        let now = self.clock.now
        self.storage.entries.withLock { entries in
            entries = entries.filter { address, entry in
                guard address.namespace.hasPrefix(self.namespace), let expiresAt = entry.expiresAt else { return true }
                return expiresAt > now
            }
        }
    }

    /// The live keys of this namespace, not of its children: read once, then handed out 100 a page.
    func keys(withPrefix prefix: String) -> StoreKeys {
        StoreKeys {
            let now = self.clock.now
            let keys = self.storage.entries.withLock { entries in
                entries.compactMap { address, entry -> String? in
                    guard address.namespace == self.namespace, address.key.starts(with: prefix.utf8) else { return nil }
                    if let expiresAt = entry.expiresAt, expiresAt <= now { return nil }
                    return String(decoding: address.key, as: UTF8.self)
                }
            }
            return Self.page(keys[...])
        }
    }

    private static func page(_ keys: ArraySlice<String>) -> StoreKeys.Page {
        let page = Array(keys.prefix(100))
        let rest = keys.dropFirst(100)
        return StoreKeys.Page(keys: page, next: rest.isEmpty ? nil : { @Sendable in Self.page(rest) })
    }
    // snippet.end

    // snippet.rateLimit
    /// The rate-limit step under the lock, timed by the store's clock. Without it, the default runs the same decision
    /// inside `update`, timed by the system's wall clock, which a manual clock in tests cannot move.
    func rateLimit(_ key: String, rule: RateLimitRule, _ operation: RateLimitOperation) async throws -> RateLimitDecision {
        try StoreValidation.validateKey(key)
        try rule.validate(operation)
        let now = self.clock.now
        return self.storage.entries.withLock { entries in
            let address = self.address(key)
            let step = rule.decide(state: Self.live(&entries, address, now: now)?.value, now: now.sinceEpoch, operation: operation)
            if let state = step.newState {
                entries[address] = Entry(value: state, expiresAt: now.advanced(by: step.expiresIn))
            }
            return step.decision
        }
    }
}
// snippet.end

// snippet.suite
/// The contract as Swift Testing cases, one per check, in your test target. The manual clock lets the expiry checks
/// run without sleeping.
@Suite struct DictionaryStoreConformanceTests {
    @Test(arguments: StoreConformance<DictionaryStore<ManualClock>>.Check.allCases)
    func conformance(_ check: StoreConformance<DictionaryStore<ManualClock>>.Check) async throws {
        let clock = ManualClock()
        try await StoreConformance(clock: clock) { DictionaryStore(clock: clock) }.run(check)
    }
}
// snippet.end

// snippet.use
// A store that passes the suite works under every middleware: here, as the root of a registry.
let root = DictionaryStore(clock: WallClock())
let registry = StoreRegistry(defaultFactory: root.withNamespace)
let limiter = try RateLimiter(
    registry: registry,
    configuration: .init(policies: [RateLimitPolicy(rule: RateLimitRule(limit: 2, per: .seconds(60)))], identity: .clientAddress())
)
let handler = limiter.wrapping { _ in StashResponse(status: .ok, body: "hello") }
for _ in 1...3 {
    let response = try await handler(
        StashRequest(head: .init(method: .get, scheme: "http", authority: "localhost", path: "/"), peerAddress: "192.0.2.1")
    )
    print(response.head.status.code, response.head.headerFields[HTTPField.Name("RateLimit")!] ?? "")
}
// snippet.end

// snippet.backend
// A backend with a prefix of its own lets operators name the store in configuration, beside the built-in ones.
let dictionary = StoreBackend(name: "dictionary", prefixes: ["dictionary"]) { _ in DictionaryStore(clock: WallClock()) }
let configured = try StoreRegistry(root: "dictionary", stores: ["sessions": "memory"], backends: [dictionary, .memory])
print("rate_limit in a dictionary store:", try configured.store(named: "rate_limit") is DictionaryStore<WallClock>)  // true
// snippet.end
