import Hummingbird
import NIOCore

/// The demo's routes: each feature's route behind its middleware, beside the bare baseline.
struct DemoRoutes {
    /// `/hello`'s body: 1 KiB, the same on every request.
    static let helloBody: ByteBuffer = {
        let line = "Hello from stash-demo. This body is a fixed kibibyte, served with no middleware.\n"
        var text = String(repeating: line, count: 1024 / line.utf8.count + 1)
        text = String(text.utf8.prefix(1023))! + "\n"
        return ByteBuffer(string: text)
    }()

    let middleware: DemoMiddleware

    func add(to router: Router<DemoRequestContext>) {
        router.get("/health") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: "ok")))
        }
        router.get("/hello") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: Self.helloBody))
        }
        router.group("/limited")
            .add(middleware: self.middleware.rateLimit)
            .get { _, _ in
                Response(
                    status: .ok,
                    headers: [.contentType: "text/plain; charset=utf-8"],
                    body: .init(byteBuffer: ByteBuffer(string: "limited: admitted\n"))
                )
            }
    }
}
