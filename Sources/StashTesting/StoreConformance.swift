public import Stash
import Testing

/// The store contract as a reusable test suite: every backend — and any third-party store — runs it to prove it
/// behaves like every other store.
///
/// Run every check as its own Swift Testing case:
///
/// ```swift
/// import StashTesting
/// import Testing
///
/// @Suite struct MyStoreConformanceTests {
///     @Test(arguments: StoreConformance<MyStore>.Check.allCases)
///     func conformance(_ check: StoreConformance<MyStore>.Check) async throws {
///         try await StoreConformance { try await MyStore.makeForTesting() }.run(check)
///     }
/// }
/// ```
///
/// `makeStore` must return a store with no keys (a fresh instance, or a fresh namespace of a shared server)
/// each time it is called. Give a ``ManualClock`` when the store is timed by it; without one, the expiry checks
/// wait in real time (a few seconds in all). Failures are recorded as Swift Testing issues.
public struct StoreConformance<S: Store>: Sendable {
    /// One row of the contract.
    public enum Check: String, CaseIterable, Sendable, CustomStringConvertible {
        /// Every operation on a key that was never stored.
        case missingKeys
        /// Arbitrary bytes (every byte value, empty, large) under odd keys (paths, NUL bytes, emoji, the longest).
        case roundTrips
        /// Values vanish when their expiry passes, sub-second ones included; exists and the expiry query agree.
        case expiry
        /// Get-renewing resets an existing expiry and never adds one.
        case renewal
        /// Overwriting a key replaces its expiry (no expiry given: none).
        case overwriteClearsExpiry
        /// Insert-if-absent on a missing, an existing and an expired key; its throwing form.
        case insert
        /// 100 concurrent inserts of one key: exactly one wins.
        case concurrentInserts
        /// Delete, exists and the three-state expiry query.
        case deleteAndExists
        /// Namespaces: parent, child and sibling (`a` vs `ab`) never see each other's keys; deleteAll removes a
        /// namespace and its children only.
        case namespaces
        /// Key listing, by prefix, lazily across pages; expired keys and children's keys are not listed.
        case keyListing
        /// Counters: creation, expiry set only on creation, negative amounts, bad and non-canonical values.
        case increment
        /// 1,000 concurrent increments of one key end at exactly 1,000, each result seen once.
        case concurrentIncrements
        /// Update's actions: unchanged, delete, set, set keeping the expiry, a throwing transform.
        case update
        /// 200 concurrent updates appending to one value lose nothing.
        case concurrentUpdates
        /// deleteExpired keeps live entries, in children too, and expired ones stay gone. (That it frees their space
        /// cannot be seen through the contract: test it with your backend's own view, as the built-in stores do.)
        case deleteExpired
        /// Typed Codable helpers: round trip, and a wrong type is a typed error.
        case codable
        /// Every bad input throws its typed error and changes nothing.
        case badInput
        /// The rate-limit step of each algorithm: a refusal's retry-after admits the next request; a fresh key
        /// admits the limit; state of another kind counts as none.
        case rateLimit
        /// 200 concurrent rate-limit steps against a limit of 10, per algorithm: exactly 10 admitted.
        case concurrentRateLimits
        /// Weighted requests, penalties and rewards, refunds, blocks by rule and by hand, and operations a rule cannot
        /// take (typed errors), per algorithm.
        case rateLimitOperations
        /// 100 concurrent requests of 3 points against a limit of 30, per algorithm: exactly 10 admitted.
        case concurrentWeightedRateLimits
        /// Records: insert, read, merge (set, remove, the last field removed), take; plain values told apart.
        case records
        /// A record's expiry: set on insert, kept or reset by a merge, renewed by a read; an expired record is not
        /// merged into.
        case recordExpiry
        /// 200 concurrent merges of different fields into one record lose none; of 20 concurrent takes, one wins.
        case concurrentRecordMerges
        /// Every bad input of the record operations throws its typed error and changes nothing.
        case recordBadInput

        public var description: String { self.rawValue }
    }

    let makeStore: @Sendable () async throws -> S
    let clock: ManualClock?

    /// Creates the suite.
    /// - Parameters:
    ///   - clock: The manual clock the stores are timed by, or `nil` to wait in real time.
    ///   - makeStore: Makes an empty store for one check.
    public init(clock: ManualClock? = nil, makeStore: @escaping @Sendable () async throws -> S) {
        self.clock = clock
        self.makeStore = makeStore
    }

    /// Runs every check, one after another.
    public func run() async throws {
        for check in Check.allCases {
            try await self.run(check)
        }
    }

    /// Runs one check on a fresh store.
    public func run(_ check: Check) async throws {
        let store = try await self.makeStore()
        switch check {
        case .missingKeys: try await self.checkMissingKeys(store)
        case .roundTrips: try await self.checkRoundTrips(store)
        case .expiry: try await self.checkExpiry(store)
        case .renewal: try await self.checkRenewal(store)
        case .overwriteClearsExpiry: try await self.checkOverwriteClearsExpiry(store)
        case .insert: try await self.checkInsert(store)
        case .concurrentInserts: try await self.checkConcurrentInserts(store)
        case .deleteAndExists: try await self.checkDeleteAndExists(store)
        case .namespaces: try await self.checkNamespaces(store)
        case .keyListing: try await self.checkKeyListing(store)
        case .increment: try await self.checkIncrement(store)
        case .concurrentIncrements: try await self.checkConcurrentIncrements(store)
        case .update: try await self.checkUpdate(store)
        case .concurrentUpdates: try await self.checkConcurrentUpdates(store)
        case .deleteExpired: try await self.checkDeleteExpired(store)
        case .codable: try await self.checkCodable(store)
        case .badInput: try await self.checkBadInput(store)
        case .rateLimit: try await self.checkRateLimit(store)
        case .concurrentRateLimits: try await self.checkConcurrentRateLimits(store)
        case .rateLimitOperations: try await self.checkRateLimitOperations(store)
        case .concurrentWeightedRateLimits: try await self.checkConcurrentWeightedRateLimits(store)
        case .records: try await self.checkRecords(store)
        case .recordExpiry: try await self.checkRecordExpiry(store)
        case .concurrentRecordMerges: try await self.checkConcurrentRecordMerges(store)
        case .recordBadInput: try await self.checkRecordBadInput(store)
        }
    }

    // MARK: Helpers shared by the checks

    /// Lets time pass: advances the manual clock, or sleeps.
    func pass(_ duration: Duration) async throws {
        if let clock = self.clock {
            clock.advance(by: duration)
        } else {
            try await Task.sleep(for: duration)
        }
    }

    /// A time to live that is short with a manual clock and long enough to survive a busy machine without one.
    var shortExpiry: Duration { self.clock == nil ? .seconds(1) : .milliseconds(500) }

    /// The time to live of the renewal and fixed-window checks, which let 60% of it pass twice.
    var windowExpiry: Duration { self.clock == nil ? .seconds(2) : .seconds(1) }

    /// A reading of real time, taken before a write, to tell later whether a TTL may have passed since.
    func startTiming() -> ContinuousClock.Instant { .now }

    /// Runs a timing-sensitive check; in real time, when the machine was too slow to judge it, again with twice the
    /// time to live (up to 4 attempts), and records an issue if it never could — a check never passes by skipping.
    /// - Parameter attempt: Runs the check with a time to live and the attempt's number; returns whether it judged.
    func judgedInRealTime(_ what: String, _ attempt: (Duration, Int) async throws -> Bool) async throws {
        var ttl = self.windowExpiry
        for number in 0..<4 {
            if try await attempt(ttl, number) { return }
            ttl *= 2
        }
        Issue.record("\(what) could not be judged: the machine was too slow even with a \(ttl / 2) time to live")
    }

    /// Whether less than `duration` has certainly passed since `start`: always with a manual clock; in real time,
    /// only if the operations since then finished in time. A check that a key is still alive is only valid then —
    /// on a loaded machine a read can come after the key really expired.
    func within(_ duration: Duration, since start: ContinuousClock.Instant) -> Bool {
        self.clock != nil || ContinuousClock.now - start < duration
    }

    /// Records an issue unless `body` throws a ``/Stash/StoreError`` with the given code.
    func expectError<T>(
        _ code: StoreError.Code,
        _ what: String,
        sourceLocation: SourceLocation = #_sourceLocation,
        _ body: () async throws -> T
    ) async {
        await expectStoreError([code], what, sourceLocation: sourceLocation, body)
    }
}
