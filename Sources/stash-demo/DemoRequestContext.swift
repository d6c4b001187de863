import Hummingbird
import NIOCore
import StashHummingbird
import StashMiddleware

/// The demo's request context: Hummingbird's core context, the connection's peer (which the Stash adapter uses as
/// the client's address), and the session on the routes behind the session middleware.
struct DemoRequestContext: RemoteAddressRequestContext, StashSessionRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?
    var session: Session?

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
        self.session = nil
    }
}
