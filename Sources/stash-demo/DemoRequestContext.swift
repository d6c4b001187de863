import Hummingbird
import NIOCore

/// The demo's request context: Hummingbird's core context and the connection's peer, which the Stash adapter uses
/// as the client's address.
struct DemoRequestContext: RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }
}
