import NIOCore

/// A rate limit's stored state, read and written as its bytes: an algorithm letter and up to three decimal integers,
/// separated by single spaces (`F start count`, `S start previous current`, `G tat`), the text every store keeps.
///
/// Read and written without going through `String`: the times are wall-clock milliseconds or microseconds, and a
/// state of 17 characters or more would be a heap-allocated string on every decision.
struct RateLimitState {
    /// The algorithm's letter.
    var tag: UInt8
    /// The integers after it.
    var numbers: (Int64, Int64, Int64)
    /// How many integers there are.
    var count: Int

    /// Reads a stored state.
    /// - Returns: `nil` unless it is a letter followed by one to three integers, each after one space, in at most 64
    ///   bytes (anything else counts as no state).
    init?(_ state: ByteBuffer) {
        guard state.readableBytes >= 3, state.readableBytes <= 64 else { return nil }
        var parsed: (tag: UInt8, numbers: (Int64, Int64, Int64), count: Int)?
        state.withUnsafeReadableBytes { bytes in
            guard bytes[1] == UInt8(ascii: " ") else { return }
            var numbers: (Int64, Int64, Int64) = (0, 0, 0)
            var count = 0
            var index = 2
            while true {
                guard count < 3, let (number, end) = Self.integer(in: bytes, from: index) else { return }
                switch count {
                case 0: numbers.0 = number
                case 1: numbers.1 = number
                default: numbers.2 = number
                }
                count += 1
                if end == bytes.count { break }
                guard bytes[end] == UInt8(ascii: " ") else { return }
                index = end + 1
            }
            parsed = (bytes[0], numbers, count)
        }
        guard let parsed else { return nil }
        self.tag = parsed.tag
        self.numbers = parsed.numbers
        self.count = parsed.count
    }

    init(tag: UInt8, numbers: (Int64, Int64, Int64), count: Int) {
        self.tag = tag
        self.numbers = numbers
        self.count = count
    }

    /// The most bytes a state takes: a letter, then three spaces and three integers of up to 20 characters.
    static let maximumSize = 1 + 3 * 21

    /// The state as bytes, in a new buffer.
    func encoded() -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: Self.maximumSize)
        self.write(into: &buffer)
        return buffer
    }

    /// Appends the state's bytes to `buffer`, written in one go: `tag n₁ …` with the first `count` numbers.
    func write(into buffer: inout ByteBuffer) {
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: Self.maximumSize) { bytes in
            bytes[0] = self.tag
            var offset = 1
            for index in 0..<self.count {
                bytes[offset] = UInt8(ascii: " ")
                offset += 1
                offset = Self.write(index == 0 ? self.numbers.0 : index == 1 ? self.numbers.1 : self.numbers.2, into: bytes, at: offset)
            }
            return offset
        }
    }

    /// A decimal integer (an optional sign, then digits) starting at `start`, and the index after it; `nil` when
    /// there is none there or it overflows.
    private static func integer(in bytes: UnsafeRawBufferPointer, from start: Int) -> (Int64, Int)? {
        var index = start
        var negative = false
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
            negative = bytes[index] == UInt8(ascii: "-")
            index += 1
        }
        let digitsStart = index
        var value: Int64 = 0
        while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
            let digit = Int64(bytes[index] - UInt8(ascii: "0"))
            let (multiplied, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (added, overflow2) = negative ? multiplied.subtractingReportingOverflow(digit) : multiplied.addingReportingOverflow(digit)
            guard !overflow1, !overflow2 else { return nil }
            value = added
            index += 1
        }
        guard index > digitsStart else { return nil }
        return (value, index)
    }

    /// Writes a decimal integer at `offset` (room for 20 characters is there) and returns the offset after it.
    private static func write(_ number: Int64, into bytes: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        var offset = offset
        if number < 0 {
            bytes[offset] = UInt8(ascii: "-")
            offset += 1
        }
        // Digits from the lowest, as magnitudes (Int64.min has no positive counterpart), then reversed in place.
        var magnitude = number.magnitude
        let first = offset
        repeat {
            bytes[offset] = UInt8(ascii: "0") + UInt8(magnitude % 10)
            magnitude /= 10
            offset += 1
        } while magnitude > 0
        var (low, high) = (first, offset - 1)
        while low < high {
            bytes.swapAt(low, high)
            low += 1
            high -= 1
        }
        return offset
    }
}
