import NIOCore
import Testing

@testable import Stash

/// The bytes of a rate limit's state, read and written without `String`: the same text every store keeps.
@Suite struct RateLimitStateTests {
    @Test(arguments: [
        (UInt8(ascii: "F"), [Int64(1_780_000_020_000), 3]),
        (UInt8(ascii: "S"), [0, -5, Int64.max]),
        (UInt8(ascii: "G"), [Int64.min]),
        (UInt8(ascii: "G"), [1_780_000_020_000_123]),
    ])
    func whatIsWrittenIsReadBackAndIsTheDecimalText(_ tag: UInt8, _ numbers: [Int64]) throws {
        let padded = numbers + Array(repeating: 0, count: 3 - numbers.count)
        let encoded = RateLimitState(tag: tag, numbers: (padded[0], padded[1], padded[2]), count: numbers.count).encoded()
        let text = String(decoding: [tag], as: UTF8.self) + numbers.map { " \($0)" }.joined()
        #expect(String(buffer: encoded) == text)
        let state = try #require(RateLimitState(encoded))
        #expect(state.tag == tag && state.count == numbers.count)
        #expect([state.numbers.0, state.numbers.1, state.numbers.2].prefix(numbers.count) == numbers[...])
    }

    @Test(arguments: [
        "", "F", "F ", "F  1", "F 1 ", "F 1  2", "FF 1", "F x", "F 1x", "F 1 2 3 4", "F 99999999999999999999", "F -", "F +",
        "F 1\t2", String(repeating: "F 1", count: 30),
    ])
    func anythingElseIsNoState(_ text: String) {
        #expect(RateLimitState(ByteBuffer(string: text)) == nil, "\(text.debugDescription)")
    }

    @Test func signsAreReadAsSwiftsIntegerParserReadsThem() throws {
        let state = try #require(RateLimitState(ByteBuffer(string: "S +12 -0 -9223372036854775808")))
        #expect(state.numbers == (12, 0, Int64.min))
    }
}
