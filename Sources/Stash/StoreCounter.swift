public import NIOCore

/// The representation of ``Store/increment(_:by:initialValue:expiresIn:)`` counters: decimal ASCII digits, as Redis
/// keeps them, so a counter written by one backend reads the same everywhere.
public enum StoreCounter {
    /// Parses a counter's bytes.
    ///
    /// Only the canonical decimal form is a counter, as Redis has it: an optional `-`, then digits without leading
    /// zeros (`0` itself excepted, `-0` refused), no `+`, no spaces, within the 64-bit range.
    /// - Returns: The value, or `nil` when the bytes are not a canonical decimal 64-bit integer.
    public static func parse(_ buffer: ByteBuffer) -> Int64? {
        let length = buffer.readableBytes
        guard length > 0, length <= 20 else { return nil }
        return buffer.withUnsafeReadableBytes { bytes -> Int64? in
            let negative = bytes[0] == UInt8(ascii: "-")
            let first = negative ? 1 : 0
            guard first < length else { return nil }
            if bytes[first] == UInt8(ascii: "0") {
                // "0" is the only number starting with a zero.
                return !negative && length == 1 ? 0 : nil
            }
            var value: Int64 = 0
            for index in first..<length {
                let digit = bytes[index] &- UInt8(ascii: "0")
                guard digit < 10 else { return nil }
                let (shifted, overflowShift) = value.multipliedReportingOverflow(by: 10)
                let (next, overflowAdd) =
                    negative
                    ? shifted.subtractingReportingOverflow(Int64(digit)) : shifted.addingReportingOverflow(Int64(digit))
                guard !overflowShift, !overflowAdd else { return nil }
                value = next
            }
            return value
        }
    }

    /// Encodes a counter value as its decimal digits.
    public static func encode(_ value: Int64, allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        allocator.buffer(string: String(value))
    }

    /// Applies an increment to a stored counter (or `nil` for a new one), with the errors every store gives.
    /// - Throws: ``StoreError/Code/conversionFailed`` when the stored bytes are not an integer or the sum overflows.
    public static func incremented(_ current: ByteBuffer?, by amount: Int64, initialValue: Int64, key: String) throws(StoreError) -> Int64 {
        let base: Int64
        if let current {
            guard let parsed = self.parse(current) else { throw StoreError.notAnInteger(key: key) }
            base = parsed
        } else {
            base = initialValue
        }
        let (sum, overflow) = base.addingReportingOverflow(amount)
        guard !overflow else { throw StoreError.overflow(key: key) }
        return sum
    }
}
