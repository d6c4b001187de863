import HTTPTypes
import NIOCore

@testable import Stash
@testable import StashMiddleware
@testable import StashRedis

/// A parser of bytes Stash does not control, as a fuzz target: each takes any bytes, and may only return — a trap
/// (an overflow, an index out of range, a failed precondition), a hang or a leak is a finding. `stash-fuzz` runs one
/// under libFuzzer (`scripts/fuzz.sh`); the test suite replays each target's committed corpus, findings included.
package enum FuzzTarget: String, CaseIterable, Sendable {
    /// The RESP decoder (RESP2 and RESP3, pushes included): whole, split in two where the input's first byte says,
    /// and byte by byte — every way of cutting the bytes decodes to the same values or the same failure.
    case resp
    /// The `Cookie` fields a session cookie is found in.
    case cookie
    /// `Cache-Control`, `Vary`, and the dates, `Age` and `Expires` a response's freshness is computed from.
    case cacheControl = "cache-control"
    /// `If-None-Match` against a stored `ETag`.
    case etag
    /// `Forwarded` and `X-Forwarded-For`, with trusted ranges and the peer's address taken from the input too.
    case forwarded
    /// Store URLs: their components, the password redacted, and a Redis configuration.
    case storeURL = "store-url"
    /// A session as a store returns it: the record's fields, and the encoding before records.
    case sessionRecord = "session-record"
    /// A response-cache entry as a store returns it.
    case cacheEntry = "cache-entry"
    /// The file store's entry header.
    case fileEntry = "file-entry"
    /// The persister's snapshot.
    case snapshot
    /// A rate limit's stored state, decided by every algorithm and every operation.
    case rateLimitState = "rate-limit-state"

    /// Runs the target on one input.
    package func run(_ bytes: UnsafeRawBufferPointer) {
        switch self {
        case .resp: Self.resp(bytes)
        case .cookie: Self.cookie(bytes)
        case .cacheControl: Self.cacheControl(bytes)
        case .etag: Self.etag(bytes)
        case .forwarded: Self.forwarded(bytes)
        case .storeURL: Self.storeURL(bytes)
        case .sessionRecord: Self.sessionRecord(bytes)
        case .cacheEntry: _ = CacheEntry.decode(ByteBuffer(bytes: bytes))
        case .fileEntry: _ = try? FileEntry.parseHeader(ByteBuffer(bytes: bytes), fileSize: bytes.count)
        case .snapshot: _ = try? Snapshot.decode(ByteBuffer(bytes: bytes))
        case .rateLimitState: Self.rateLimitState(bytes)
        }
    }

    /// The input cut in `count` parts at the separator byte 0x00 (the last part holds the rest).
    static func parts(_ bytes: UnsafeRawBufferPointer, _ count: Int) -> [ArraySlice<UInt8>] {
        var parts = Array(bytes).split(separator: 0, maxSplits: count - 1, omittingEmptySubsequences: false)
        while parts.count < count { parts.append([]) }
        return parts
    }

    // MARK: RESP

    /// What decoding a stream cut into chunks gives: the values, then the error (its description) if one ended it.
    static func decoded(_ chunks: [ArraySlice<UInt8>]) -> (values: [RESPValue], failure: String?) {
        var decoder = RESPDecoder()
        var buffer = ByteBuffer()
        var values: [RESPValue] = []
        for chunk in chunks {
            buffer.writeBytes(chunk)
            do {
                while let value = try decoder.decode(buffer: &buffer) { values.append(value) }
            } catch {
                return (values, "\(error)")
            }
        }
        return (values, nil)
    }

    private static func resp(_ bytes: UnsafeRawBufferPointer) {
        let all = Array(bytes)[...]
        let whole = Self.decoded([all])
        guard let first = all.first else { return }
        let split = all.startIndex + Int(first) % (all.count + 1)
        let halves = Self.decoded([all[..<split], all[split...]])
        precondition(halves.values == whole.values && halves.failure == whole.failure, "RESP split at \(split) decodes differently")
        guard all.count <= 512 else { return }
        let single = Self.decoded(all.indices.map { all[$0...$0] })
        precondition(single.values == whole.values && single.failure == whole.failure, "RESP byte by byte decodes differently")
    }

    // MARK: HTTP fields

    private static func fields(_ pairs: [(HTTPField.Name, ArraySlice<UInt8>)]) -> HTTPFields {
        var fields = HTTPFields()
        for (name, value) in pairs { fields.append(HTTPField(name: name, lenientValue: value)) }
        return fields
    }

    private static func cookie(_ bytes: UnsafeRawBufferPointer) {
        let parts = Self.parts(bytes, 3)
        let fields = Self.fields(parts.map { (.cookie, $0) })
        for name in ["session", "__Host-session", "id"] {
            guard
                let cookie = try? SessionCookie(
                    name: name,
                    path: "/",
                    domain: nil,
                    secure: true,
                    httpOnly: true,
                    sameSite: .lax,
                    maxAge: 3600
                )
            else { preconditionFailure("a valid cookie configuration") }
            let found = cookie.find(in: fields)
            if let id = found.id { precondition(SessionID.isWellFormed(id.utf8), "a found id is well-formed") }
        }
    }

    private static func cacheControl(_ bytes: UnsafeRawBufferPointer) {
        let parts = Self.parts(bytes, 5)
        _ = CacheControl(parsing: String(decoding: parts[0], as: UTF8.self))
        _ = HTTPDate.seconds(String(decoding: parts[1], as: UTF8.self))
        let fields = Self.fields([(.cacheControl, parts[0]), (.date, parts[1]), (.expires, parts[2]), (.age, parts[3]), (.vary, parts[4])])
        let now: Int64 = 1_800_000_000_000
        _ = ResponseFreshness.expiresLifetime(fields, now: now)
        _ = ResponseFreshness.initialAge(fields, requestTime: now - 5, responseTime: now)
    }

    private static func etag(_ bytes: UnsafeRawBufferPointer) {
        let parts = Self.parts(bytes, 2)
        let stored = String(decoding: parts[1], as: UTF8.self)
        _ = EntityTagMatch.clientHasCurrentCopy(Self.fields([(.ifNoneMatch, parts[0])]), storedETag: stored)
        _ = EntityTagMatch.weaklyEqual(String(decoding: parts[0], as: UTF8.self), stored)
    }

    private static func forwarded(_ bytes: UnsafeRawBufferPointer) {
        let parts = Self.parts(bytes, 4)
        let trusted = String(decoding: parts[2], as: UTF8.self).split(separator: ",").compactMap { try? IPAddressRange(String($0)) }
        var request = StashRequest(
            head: HTTPRequest(
                method: .get,
                scheme: "http",
                authority: "localhost",
                path: "/",
                headerFields: Self.fields([(.forwarded, parts[0]), (.xForwardedFor, parts[1])])
            ),
            peerAddress: String(decoding: parts[3], as: UTF8.self)
        )
        _ = ClientIdentity.clientAddress(of: request, trusting: trusted)
        _ = ClientIdentity.untrustedForwarding(in: request, trusting: trusted)
        // From a trusted proxy: the forwarded addresses are read, and grouped.
        request.peerAddress = "10.0.0.1"
        if let client = ClientIdentity.clientAddress(of: request, trusting: trusted + Self.proxies) {
            for subnet in [0, 48, 56, 64, 128] { _ = ClientIdentity.client(of: client, ipv6Subnet: subnet) }
        }
        _ = IPAddressRange.parse(String(decoding: parts[0], as: UTF8.self))
    }

    /// The proxy the forwarded fields are trusted from.
    private static let proxies = [try? IPAddressRange("10.0.0.0/8")].compactMap { $0 }

    private static func storeURL(_ bytes: UnsafeRawBufferPointer) {
        let url = String(decoding: bytes, as: UTF8.self)
        // As it is, and after each scheme, so that the fuzzer need not find a scheme before it reaches the rest.
        for scheme in ["", "redis://", "rediss+cluster://", "postgres://"] {
            _ = try? StoreURL.components(of: scheme + url)
            _ = try? RedisConfiguration(url: scheme + url)
            _ = StoreURL.redactingPassword(scheme + url)
        }
    }

    private static func sessionRecord(_ bytes: UnsafeRawBufferPointer) {
        let buffer = ByteBuffer(bytes: bytes)
        _ = try? SessionRecord(decoding: buffer)
        var reader = buffer
        if let fields = try? StoreRecordEncoding.read(from: &reader) {
            _ = try? SessionRecord(fields: fields)
        }
    }

    // MARK: Rate limits

    private static func rateLimitState(_ bytes: UnsafeRawBufferPointer) {
        let state = ByteBuffer(bytes: bytes)
        _ = RateLimitState(state)
        guard
            let rules = try? [
                RateLimitRule(limit: 7, per: .seconds(60)),
                RateLimitRule(limit: 7, per: .seconds(60), algorithm: .slidingWindow, blockingFor: .seconds(600)),
                RateLimitRule(limit: 1_000_000_000, per: .milliseconds(1), algorithm: .tokenBucket(burst: 1_000_000_000)),
                RateLimitRule(limit: 3, per: .seconds(86_400), algorithm: .tokenBucket(burst: 2)),
            ]
        else { preconditionFailure("valid rules") }
        let charge = RateLimitCharge(cost: 2, windowStart: 1_800_000_000_000 - 60_000)
        for rule in rules {
            for operation in [
                RateLimitOperation.consume, .consume(rule.maximumCost), .adjust(by: 1), .adjust(by: -rule.maximumCost), .refund(charge),
                .block(for: .seconds(60)),
            ] {
                for now in [Duration.milliseconds(1_800_000_000_000), .zero, .milliseconds(-1)] {
                    _ = rule.decide(state: state, now: now, operation: operation)
                }
            }
        }
    }
}
