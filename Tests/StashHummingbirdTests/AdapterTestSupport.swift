import HTTPTypes
import Hummingbird
import NIOCore
import Stash
import StashMiddleware

/// A context that knows the connection's peer, as an application's would.
struct TestContext: RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }
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
