// ThreadSanitizer and a continuation resumed before its task suspends, the reason for EventLoopFuture.value() in
// Sources/Stash/EventLoopFuture+Value.swift:
//
//   swiftc -sanitize=thread -parse-as-library scripts/tsan-continuation.swift -o /tmp/tsan-continuation
//   /tmp/tsan-continuation
//
// reports a data race between `Box.init` on the producer's thread and the read of `box.value` in the task, though
// the box reaches the task only through `resume(returning:)`, which happens before the task goes on; and races
// inside `withUnsafeContinuation`'s own code. With this toolchain (Swift 6.3.1, Linux) they show within 200,000
// hand-overs. Telling ThreadSanitizer about the hand-over (`__tsan_release` before the resume, `__tsan_acquire`
// after the await, on one address) removes the report on the box; those inside `withUnsafeContinuation` remain (a
// known class: swiftlang/swift#57803). The Stash suite has shown only the first kind.
import Dispatch

final class Box: @unchecked Sendable {
    var value: Int
    init(_ value: Int) { self.value = value }
}

let producer = DispatchQueue(label: "producer")

@main struct Main {
    static func main() async {
        var sum = 0
        for index in 0..<200_000 {
            // The box is made on the producer's thread and handed over only by resuming the continuation.
            let box: Box = await withUnsafeContinuation { continuation in
                producer.async { continuation.resume(returning: Box(index)) }
            }
            sum &+= box.value
        }
        print(sum)
    }
}
