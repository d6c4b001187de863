import HTTPTypes

/// A response's own freshness, as RFC 9111 §4.2 computes it, in milliseconds on the cache's clock.
enum ResponseFreshness {
    /// The largest `Age` or delta-seconds value kept (§1.2.2): a larger one, or one that overflows, is this.
    static let largestDeltaSeconds: Int64 = 2_147_483_648

    /// A number of seconds in milliseconds, never overflowing.
    static func milliseconds(_ seconds: Int64) -> Int64 {
        let (product, overflow) = min(seconds, Self.largestDeltaSeconds).multipliedReportingOverflow(by: 1000)
        return overflow ? .max : product
    }

    /// The lifetime `Expires` gives (§4.2.1): `Expires` − `Date` (or − now without a valid `Date`); `nil` without an
    /// `Expires`, 0 — already stale — for one that is not a valid date (§5.3).
    static func expiresLifetime(_ fields: HTTPFields, now: Int64) -> Int64? {
        guard let value = fields.value(of: .expires) else { return nil }
        guard let expires = HTTPDate.seconds(value) else { return 0 }
        let date = fields.value(of: .date).flatMap { HTTPDate.seconds($0) }.map { $0 * 1000 } ?? now
        return max(0, expires * 1000 - date)
    }

    /// The age a response arrived with (§4.2.3): the larger of the time since its `Date` and its `Age` plus the time
    /// the handler took. A malformed `Age` (not digits) counts as none; a huge one as ``largestDeltaSeconds``.
    static func initialAge(_ fields: HTTPFields, requestTime: Int64, responseTime: Int64) -> Int64 {
        let apparent = fields.value(of: .date).flatMap { HTTPDate.seconds($0) }.map { max(0, responseTime - $0 * 1000) } ?? 0
        let ageValue = fields.value(of: .age).flatMap(Self.deltaSeconds).map(Self.milliseconds) ?? 0
        let delay = max(0, responseTime - requestTime)
        let (corrected, overflow) = ageValue.addingReportingOverflow(delay)
        return max(apparent, overflow ? .max : corrected)
    }

    /// A delta-seconds value: digits only, a value past ``largestDeltaSeconds`` taken as that; `nil` otherwise.
    static func deltaSeconds(_ value: String) -> Int64? {
        let digits = value[...].trimmingWhitespace().utf8
        guard !digits.isEmpty, digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        var seconds: Int64 = 0
        for digit in digits {
            seconds = seconds * 10 + Int64(digit - UInt8(ascii: "0"))
            if seconds > Self.largestDeltaSeconds { return Self.largestDeltaSeconds }
        }
        return seconds
    }
}
