// A Vapor application that keeps its code — `req.session`, `SessionsMiddleware`, `req.cache` — and moves its data
// into a Stash store. It serves on http://127.0.0.1:8080 until interrupted.

// snippet.hide
import Stash
import StashVapor
import Vapor

// snippet.show
// snippet.stores
// Files here; a RedisStore or PostgresStore root shares the sessions and the cache between instances.
let root = try FileStore(directory: "/tmp/stash-vapor-migration")
let registry = StoreRegistry(defaultFactory: root.withNamespace)

let app = try await Application.make(.detect())
app.http.server.configuration.hostname = "127.0.0.1"
app.http.server.configuration.port = 8080
// The registry runs its stores' background work (the file store's sweep) while the application runs.
app.lifecycle.use(StashLifecycleHandler(registry))
// snippet.end

// snippet.sessions
// Vapor's sessions, unchanged, stored by Stash: was app.sessions.use(.memory).
app.sessions.use(.stash(try registry.store(named: "vapor_sessions")))
app.middleware.use(app.sessions.middleware)
// snippet.end

// snippet.cache
// Vapor's cache, unchanged, stored by Stash: was app.caches.use(.memory).
app.caches.use(.stash(try registry.store(named: "vapor_cache")))
// snippet.end

// snippet.routes
app.post("login") { req -> String in
    let user = req.query[String.self, at: "user"] ?? "anonymous"
    req.session.data["user"] = user
    return "hello, \(user)\n"
}
app.get("me") { req -> String in
    "\(req.session.data["user"] ?? "anonymous")\n"
}
app.get("greeting") { req -> String in
    if let greeting = try await req.cache.get("greeting", as: String.self) { return greeting + " (cached)\n" }
    try await req.cache.set("greeting", to: "hello", expiresIn: .minutes(5))
    return "hello\n"
}
// snippet.end

// snippet.run
do {
    try await app.execute()
} catch {
    app.logger.report(error: error)
}
try await app.asyncShutdown()
// snippet.end
