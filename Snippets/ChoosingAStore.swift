// The four stores, and a program that runs the same operations on whichever one a URL names:
//
//     swift run ChoosingAStore memory
//     swift run ChoosingAStore file:/tmp/stash
//     swift run ChoosingAStore redis://127.0.0.1:6379/0
//     swift run ChoosingAStore postgres://stash@127.0.0.1:5432/stash

// snippet.hide
import NIOCore
import Stash
import StashPostgres
import StashRedis

// snippet.show
// snippet.memory
// In this process: the fastest, gone at a restart, seen by this instance only. Bound it, so that keys chosen by
// clients (cache keys, client addresses) cannot grow it without limit.
let memory = try MemoryStore(configuration: .init(maximumEntries: 100_000, maximumBytes: 256 * 1024 * 1024))
// snippet.end

// snippet.file
// On disk: survives restarts, shared by the processes of one machine. Writes are atomic (a temporary file renamed
// into place); with `synchronizesWrites` each is also flushed to the device, so it survives a power loss.
let files = try FileStore(directory: "/tmp/stash-choosing-a-store", configuration: .init(synchronizesWrites: true))
// snippet.end

// snippet.redis
// On a Redis (or Valkey) server: shared by every instance of the application. It connects on first use, or when
// its service runs.
let redis = try RedisStore(url: "redis://127.0.0.1:6379/0")
// snippet.end

// snippet.postgres
// In a PostgreSQL table: shared by every instance, through the database the application already runs. Its service
// (the connection pool) must run before it answers.
let postgres = try PostgresStore(url: "postgres://stash@127.0.0.1:5432/stash")
// snippet.end

// snippet.exercise
/// Runs a few operations on a store, with its service (sweeps, connection pool) running meanwhile.
func exercise(_ store: any Store) async throws {
    try await withThrowingDiscardingTaskGroup { group in
        if let serviced = store as? any ServicedStore {
            group.addTask { try await serviced.service.run() }
        }
        try await store.set("greeting", value: ByteBuffer(string: "hello"), expiresIn: .seconds(60))
        print("get:", try await store.get("greeting").map { String(buffer: $0) } ?? "missing")
        print("expiry:", try await store.expiry(of: "greeting"))
        print("increment:", try await store.increment("visits", by: 1, expiresIn: .seconds(60)))
        let rule = try RateLimitRule(limit: 10, per: .seconds(60), algorithm: .slidingWindow)
        print("rate limit:", try await store.rateLimit("client 192.0.2.1", rule: rule).remaining, "left")
        try await store.deleteAll()
        group.cancelAll()
    }
}
// snippet.end

// snippet.choose
// Without arguments, the memory and file stores above; otherwise the store each URL names, as
// StoreRegistry(root:stores:backends:) and the demo's --store option make it.
let urls = CommandLine.arguments.dropFirst()
if urls.isEmpty {
    try await exercise(memory)
    try await exercise(files)
}
let backends: [StoreBackend] = [.memory, .file, .redis, .postgres]
for url in urls {
    if let backend = backends.first(where: { $0.accepts(url) }) {
        try await exercise(backend.makeStore(url).withNamespace("choosing"))
    } else {
        print("no store for \(url): use memory, file:PATH, redis://… or postgres://…")
    }
}
// snippet.end
