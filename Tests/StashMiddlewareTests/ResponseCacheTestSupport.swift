import HTTPTypes
import NIOCore
import Stash
import StashTesting
import Synchronization

@testable import StashMiddleware

/// A handler that counts its runs and answers with what `answer` makes of the request and the run's number.
final class CountingOrigin: Sendable {
    private let runs = Atomic<Int>(0)
    private let answer: @Sendable (StashRequest, Int) async throws -> StashResponse

    init(_ answer: @escaping @Sendable (StashRequest, Int) async throws -> StashResponse = CountingOrigin.plain) {
        self.answer = answer
    }

    /// How many times the handler ran.
    var count: Int { self.runs.load(ordering: .relaxed) }

    var handler: StashHandler {
        { request in
            let run = self.runs.add(1, ordering: .relaxed).newValue
            return try await self.answer(request, run)
        }
    }

    /// A 200 whose body says which run produced it.
    static let plain: @Sendable (StashRequest, Int) async throws -> StashResponse = { _, run in
        StashResponse(status: .ok, headerFields: [.contentType: "text/plain"], body: "run \(run)")
    }

    /// A 200 with the given extra header fields, whose body says which run produced it.
    static func with(_ fields: HTTPFields, status: HTTPResponse.Status = .ok) -> CountingOrigin {
        CountingOrigin { _, run in StashResponse(status: status, headerFields: fields, body: "run \(run)") }
    }
}

enum CacheTest {
    static func request(_ path: String = "/page", method: HTTPRequest.Method = .get, headers: HTTPFields = [:]) -> StashRequest {
        StashRequest(head: HTTPRequest(method: method, scheme: "http", authority: "localhost", path: path, headerFields: headers))
    }

    static func cache(
        _ store: any Store,
        clock: ManualClock = ManualClock(),
        _ configure: (inout ResponseCache.Configuration) -> Void = { _ in }
    ) -> ResponseCache {
        var configuration = ResponseCache.Configuration()
        configure(&configuration)
        return ResponseCache(store: store, configuration: configuration, clock: clock)
    }

    static func body(_ response: StashResponse) -> String {
        String(buffer: response.body)
    }

    static func status(_ response: StashResponse) -> String? {
        response.head.headerFields[.cacheStatus]
    }
}
