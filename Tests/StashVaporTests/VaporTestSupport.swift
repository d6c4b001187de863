import Foundation
import NIOCore
import Stash
import StashVapor
import Vapor
import VaporTesting

/// A Vapor response body written as a stream in chunks, of unknown length (`count: -1`) unless declared.
func streamedBody(_ bytes: ByteBuffer, chunkSize: Int, declaringLength: Bool) -> Response.Body {
    Response.Body(
        asyncStream: { writer in
            var remaining = bytes
            while let chunk = remaining.readSlice(length: min(chunkSize, remaining.readableBytes)), chunk.readableBytes > 0 {
                try await writer.write(.buffer(chunk))
            }
            try await writer.write(.end)
        },
        count: declaringLength ? bytes.readableBytes : -1
    )
}

/// Runs `body` — which sets up routes, then sends requests — on a Vapor application in the testing environment, shut
/// down afterwards.
func withVaporApp(_ body: (Application) async throws -> Void) async throws {
    let app = try await Application.make(.testing)
    app.logger.logLevel = .warning
    do {
        try await body(app)
    } catch {
        try? await app.asyncShutdown()
        throw error
    }
    try await app.asyncShutdown()
}

/// The `name=value` pair of a response's `Set-Cookie`, for the next request's `Cookie`.
func cookiePair(_ response: TestingHTTPResponse) -> String? {
    response.headers.first(name: .setCookie).map { String($0.prefix { $0 != ";" }) }
}
