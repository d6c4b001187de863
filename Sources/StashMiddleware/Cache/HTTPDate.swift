/// HTTP dates (RFC 9110 §5.6.7), read as seconds since the Unix epoch: the preferred IMF-fixdate
/// (`Sun, 06 Nov 1994 08:49:37 GMT`) and the two obsolete forms a recipient must also accept, RFC 850
/// (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime (`Sun Nov  6 08:49:37 1994`). Read byte by byte, without
/// Foundation: anything else — another zone, a day that does not exist, a missing field — is `nil`.
enum HTTPDate {
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"].map { Array($0.utf8) }
    private static let days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].map { Array($0.utf8) }

    /// The instant a date names, in seconds since the epoch; `nil` when it is not an HTTP date.
    static func seconds(_ value: some StringProtocol) -> Int64? {
        let text = Array(Substring(value).trimmingWhitespace().utf8)
        guard text.count >= 24 else { return nil }
        switch text.firstIndex(of: UInt8(ascii: ",")) {
        case .some(3): return Self.imfFixdate(text)
        case .some(let comma): return Self.rfc850(text, comma: comma)
        case .none: return Self.asctime(text)
        }
    }

    /// `Sun, 06 Nov 1994 08:49:37 GMT`
    private static func imfFixdate(_ text: [UInt8]) -> Int64? {
        guard text.count == 29, Self.days.contains(Array(text[0..<3])), text[4] == UInt8(ascii: " "), text[7] == UInt8(ascii: " "),
            text[11] == UInt8(ascii: " "), text[16] == UInt8(ascii: " "), Array(text[25...]) == Array(" GMT".utf8),
            let day = Self.number(text[5..<7]), let month = Self.month(text[8..<11]), let year = Self.number(text[12..<16]),
            let time = Self.time(text[17..<25])
        else { return nil }
        return Self.instant(year: year, month: month, day: day, time: time)
    }

    /// `Sunday, 06-Nov-94 08:49:37 GMT`: a two-digit year that would be over 50 years ahead is in the past century.
    private static func rfc850(_ text: [UInt8], comma: Int) -> Int64? {
        let rest = Array(text[(comma + 1)...])
        guard rest.count == 23, Self.days.contains(Array(text[0..<3])), rest[0] == UInt8(ascii: " "), rest[3] == UInt8(ascii: "-"),
            rest[7] == UInt8(ascii: "-"), rest[10] == UInt8(ascii: " "), Array(rest[19...]) == Array(" GMT".utf8),
            let day = Self.number(rest[1..<3]), let month = Self.month(rest[4..<7]), let shortYear = Self.number(rest[8..<10]),
            let time = Self.time(rest[11..<19])
        else { return nil }
        return Self.instant(year: shortYear < 70 ? 2000 + shortYear : 1900 + shortYear, month: month, day: day, time: time)
    }

    /// `Sun Nov  6 08:49:37 1994`
    private static func asctime(_ text: [UInt8]) -> Int64? {
        guard text.count == 24, Self.days.contains(Array(text[0..<3])), text[3] == UInt8(ascii: " "), text[7] == UInt8(ascii: " "),
            text[10] == UInt8(ascii: " "), text[19] == UInt8(ascii: " "), let month = Self.month(text[4..<7]),
            let day = text[8] == UInt8(ascii: " ") ? Self.number(text[9..<10]) : Self.number(text[8..<10]),
            let time = Self.time(text[11..<19]), let year = Self.number(text[20..<24])
        else { return nil }
        return Self.instant(year: year, month: month, day: day, time: time)
    }

    /// `HH:MM:SS` as seconds into the day (a leap second's 60 is taken as 59, as the instant it names is not kept).
    private static func time(_ text: ArraySlice<UInt8>) -> Int64? {
        let start = text.startIndex
        guard text[start + 2] == UInt8(ascii: ":"), text[start + 5] == UInt8(ascii: ":"),
            let hour = Self.number(text[start..<(start + 2)]), let minute = Self.number(text[(start + 3)..<(start + 5)]),
            let second = Self.number(text[(start + 6)..<(start + 8)]), hour < 24, minute < 60, second <= 60
        else { return nil }
        return hour * 3600 + minute * 60 + min(second, 59)
    }

    private static func month(_ text: ArraySlice<UInt8>) -> Int64? {
        Self.months.firstIndex { $0[...] == text }.map { Int64($0) + 1 }
    }

    private static func number(_ digits: ArraySlice<UInt8>) -> Int64? {
        var value: Int64 = 0
        for digit in digits {
            guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int64(digit - UInt8(ascii: "0"))
        }
        return digits.isEmpty ? nil : value
    }

    /// Seconds since the epoch of a day and time in the proleptic Gregorian calendar, `nil` for a day that does not
    /// exist (30 February) or a year before 1970.
    private static func instant(year: Int64, month: Int64, day: Int64, time: Int64) -> Int64? {
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let lengths: [Int64] = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard year >= 1970, (1...12).contains(month), day >= 1, day <= lengths[Int(month) - 1] else { return nil }
        // Days from the civil date (Howard Hinnant's algorithm).
        let y = month <= 2 ? year - 1 : year
        let era = y / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        return days * 86_400 + time
    }
}
