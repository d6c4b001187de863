import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Stash
import StashMiddleware
import StashRedis
import Synchronization

/// A context that knows the connection's peer, as an application's would.
struct TestContext: RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }
}

/// A middleware that records what it was given, and optionally rewrites the response it passes on.
final class RecordingMiddleware: HTTPMiddleware {
    struct Seen: Sendable {
        var request: StashRequest
        var response: StashResponse
    }

    private let seen = Mutex<[Seen]>([])
    private let transform: @Sendable (inout StashResponse) -> Void

    init(transform: @escaping @Sendable (inout StashResponse) -> Void = { _ in }) {
        self.transform = transform
    }

    var all: [Seen] { self.seen.withLock { $0 } }

    func respond(to request: StashRequest, next: (StashRequest) async throws -> StashResponse) async throws -> StashResponse {
        var response = try await next(request)
        self.seen.withLock { $0.append(Seen(request: request, response: response)) }
        self.transform(&response)
        return response
    }
}

/// Counts how often a handler ran.
final class RunCounter: Sendable {
    private let value = Atomic<Int>(0)

    func increment() { self.value.add(1, ordering: .relaxed) }
    var count: Int { self.value.load(ordering: .relaxed) }
}

/// Deterministic bytes that differ from chunk to chunk, so a lost, repeated or reordered chunk shows.
func patternBytes(count: Int, seed: UInt8 = 7) -> ByteBuffer {
    var buffer = ByteBuffer()
    buffer.reserveCapacity(count)
    var value = seed
    for index in 0..<count {
        value = value &* 31 &+ UInt8(truncatingIfNeeded: index >> 8) &+ 1
        buffer.writeInteger(value)
    }
    return buffer
}

/// A response body written in chunks, with or without its length declared.
func chunkedBody(_ bytes: ByteBuffer, chunkSize: Int, declaringLength: Bool) -> ResponseBody {
    let write: @Sendable (inout any ResponseBodyWriter) async throws -> Void = { writer in
        var remaining = bytes
        while let chunk = remaining.readSlice(length: min(chunkSize, remaining.readableBytes)), chunk.readableBytes > 0 {
            try await writer.write(chunk)
        }
        try await writer.finish(nil)
    }
    return ResponseBody(contentLength: declaringLength ? bytes.readableBytes : nil, write)
}

/// The stores the rate-limit tests run on: memory, files, and the Redis server `scripts/test.sh` starts.
enum TestStores {
    static func all() throws -> [(String, any Store)] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stash-hummingbird-\(UUID().uuidString)").path
        guard let url = ProcessInfo.processInfo.environment["STASH_REDIS_URL"], !url.isEmpty else {
            throw StoreError(.unavailable, "STASH_REDIS_URL is not set: run the tests through scripts/test.sh, which starts a redis-server")
        }
        return [
            ("memory", MemoryStore()),
            ("file", try FileStore(directory: directory)),
            ("redis", try RedisStore(url: url).withNamespace("hummingbird-\(UUID().uuidString.prefix(8).lowercased())")),
        ]
    }
}
