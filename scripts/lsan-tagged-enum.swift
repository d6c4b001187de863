// LeakSanitizer and Swift's multi-payload enums, the reason for the first entries of scripts/lsan.supp:
//
//   swiftc -sanitize=address scripts/lsan-tagged-enum.swift -o /tmp/lsan-tagged-enum && /tmp/lsan-tagged-enum
//
// prints one "Direct leak" of about 830 bytes, allocated on the `holder.state = .running(...)` line: the array the
// global still holds in an enum's second payload case, whose pointer carries the case in its spare bits, which
// LeakSanitizer does not recognise as a pointer. The array in the plain property is not reported.
final class Holder: @unchecked Sendable {
    enum State {
        case stopped
        case shuttingDown([Bool])
        case running([Int])
        case modifying
    }
    var state: State = .stopped
    var plain: [Int] = []
}

let holder = Holder()
holder.state = .running(Array(repeating: 7, count: 100))  // 800+ bytes
holder.plain = Array(repeating: 9, count: 50)  // 400+ bytes, stored untagged
print("holding both")
