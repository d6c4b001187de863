package import NIOCore
import Stash
package import StashMiddleware
import Synchronization

/// A middleware that records what it was given, and optionally rewrites the response it passes on: what a framework
/// adapter hands a middleware, seen from the middleware.
package final class RecordingMiddleware: HTTPMiddleware {
    package struct Seen: Sendable {
        package var request: StashRequest
        package var response: StashResponse
    }

    private let seen = Locked<[Seen]>([])
    private let transform: @Sendable (inout StashResponse) -> Void

    package init(transform: @escaping @Sendable (inout StashResponse) -> Void = { _ in }) {
        self.transform = transform
    }

    package var all: [Seen] { self.seen.withLock { $0 } }

    package func respond(to request: StashRequest, next: (StashRequest) async throws -> StashResponse) async throws -> StashResponse {
        var response = try await next(request)
        self.seen.withLock { $0.append(Seen(request: request, response: response)) }
        self.transform(&response)
        return response
    }
}

/// Counts how often a handler ran.
package final class RunCounter: Sendable {
    private let value = Atomic<Int>(0)

    package init() {}

    package func increment() { self.value.add(1, ordering: .relaxed) }
    package var count: Int { self.value.load(ordering: .relaxed) }
}

/// Deterministic bytes that differ from chunk to chunk, so a lost, repeated or reordered chunk shows.
package func patternBytes(count: Int, seed: UInt8 = 7) -> ByteBuffer {
    var buffer = ByteBuffer()
    buffer.reserveCapacity(count)
    var value = seed
    for index in 0..<count {
        value = value &* 31 &+ UInt8(truncatingIfNeeded: index >> 8) &+ 1
        buffer.writeInteger(value)
    }
    return buffer
}
