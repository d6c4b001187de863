// A Hummingbird application that keeps its code on the persist API and moves its data into a Stash store: a
// `StorePersistDriver` where `MemoryPersistDriver` was. It serves on http://127.0.0.1:8080 until interrupted.

// snippet.hide
import Hummingbird
import Stash
import StashHummingbird

// snippet.show
// snippet.driver
// Was: let persist = MemoryPersistDriver()
let root = try FileStore(directory: "/tmp/stash-hummingbird-migration")
let registry = StoreRegistry(defaultFactory: root.withNamespace)
let persist = StorePersistDriver(store: try registry.store(named: "persist"))
// snippet.end

// snippet.routes
let router = Router()
// The persist API, unchanged: values as JSON, create refusing an existing key, expiry to the millisecond.
router.put("/notes/:name") { request, context -> HTTPResponse.Status in
    let name = try context.parameters.require("name")
    let text = String(buffer: try await request.body.collect(upTo: 64 * 1024))
    try await persist.set(key: "note:\(name)", value: text, expires: .seconds(3600))
    return .created
}
router.get("/notes/:name") { _, context -> String in
    let name = try context.parameters.require("name")
    guard let text = try await persist.get(key: "note:\(name)", as: String.self) else { throw HTTPError(.notFound) }
    return text
}
router.delete("/notes/:name") { _, context -> HTTPResponse.Status in
    try await persist.remove(key: "note:\(try context.parameters.require("name"))")
    return .noContent
}
// snippet.end

// snippet.run
// The registry runs the store's work (the sweep); the driver, as a service, only waits for shutdown.
let app = Application(
    router: router,
    configuration: .init(address: .hostname("127.0.0.1", port: 8080)),
    services: [registry, persist]
)
try await app.runService()
// snippet.end
