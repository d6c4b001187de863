import NIOCore

/// Validates and converts the numbers RESP writes in decimal, without trapping on any input.
enum RESPNumberParsing {
    /// A length or count: one or more digits, no sign, within `Int`.
    static func nonNegativeInteger(_ line: ByteBuffer) -> Int? {
        guard let first = line.readableBytesView.first, Self.digit(first) != nil, let value = Self.integer(line) else {
            return nil
        }
        return Int(exactly: value)
    }

    /// An integer reply: an optional sign, then one or more digits, within `Int64` (`Int64.min` included).
    static func integer(_ line: ByteBuffer) -> Int64? {
        var digits = line.readableBytesView
        var negative = false
        if let sign = digits.first, sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") {
            negative = sign == UInt8(ascii: "-")
            digits = digits.dropFirst()
        }
        guard !digits.isEmpty else {
            return nil
        }
        // Accumulated towards the sign, so that Int64.min, whose magnitude Int64 cannot hold, parses too.
        var value: Int64 = 0
        for byte in digits {
            guard let digit = Self.digit(byte) else {
                return nil
            }
            let (shifted, shiftOverflow) = value.multipliedReportingOverflow(by: 10)
            let (sum, sumOverflow) =
                negative ? shifted.subtractingReportingOverflow(Int64(digit)) : shifted.addingReportingOverflow(Int64(digit))
            guard !shiftOverflow, !sumOverflow else {
                return nil
            }
            value = sum
        }
        return value
    }

    /// A double reply: `inf`, `-inf`, a NaN in any of the spellings servers have used (`nan`, `-nan`, `NAN`,
    /// `nan(…)`), or `[+|-]digits[.digits][(e|E)[+|-]digits]`.
    static func double(_ line: ByteBuffer) -> Double? {
        let text = line.readableBytesView
        var body = text
        var negative = false
        if let sign = body.first, sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") {
            negative = sign == UInt8(ascii: "-")
            body = body.dropFirst()
        }
        if Self.equalsIgnoringCase(body, "inf") || Self.equalsIgnoringCase(body, "infinity") {
            return negative ? -.infinity : .infinity
        }
        if Self.equalsIgnoringCase(body.prefix(3), "nan"),
            body.count == 3 || (body.dropFirst(3).first == UInt8(ascii: "(") && body.last == UInt8(ascii: ")"))
        {
            return .nan
        }
        guard Self.isDecimal(body) else {
            return nil
        }
        // The grammar is checked above: Double(_:) alone would also take hexadecimal and other spellings.
        return Double(String(decoding: text, as: UTF8.self))
    }

    /// A big number: an optional `-`, then one or more digits.
    static func isBigNumber(_ line: ByteBuffer) -> Bool {
        var digits = line.readableBytesView
        if digits.first == UInt8(ascii: "-") {
            digits = digits.dropFirst()
        }
        return !digits.isEmpty && digits.allSatisfy { Self.digit($0) != nil }
    }

    private static func digit(_ byte: UInt8) -> Int? {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") ? Int(byte &- UInt8(ascii: "0")) : nil
    }

    /// `digits[.digits][(e|E)[+|-]digits]`
    private static func isDecimal(_ text: ByteBufferView) -> Bool {
        var rest = text
        func skipDigits() -> Bool {
            let count = rest.prefix { Self.digit($0) != nil }.count
            rest = rest.dropFirst(count)
            return count > 0
        }
        guard skipDigits() else {
            return false
        }
        if rest.first == UInt8(ascii: ".") {
            rest = rest.dropFirst()
            guard skipDigits() else {
                return false
            }
        }
        if rest.first == UInt8(ascii: "e") || rest.first == UInt8(ascii: "E") {
            rest = rest.dropFirst()
            if rest.first == UInt8(ascii: "+") || rest.first == UInt8(ascii: "-") {
                rest = rest.dropFirst()
            }
            guard skipDigits() else {
                return false
            }
        }
        return rest.isEmpty
    }

    private static func equalsIgnoringCase(_ bytes: ByteBufferView, _ lowercase: String) -> Bool {
        bytes.elementsEqual(lowercase.utf8) { byte, expected in
            (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte) == expected
        }
    }
}
