// Redis in production: one server, TLS, a cluster and a near cache, each configured as the application would, and a
// round of operations against the server a URL names (`redis://127.0.0.1:6379/0` by default):
//
//     swift run RedisProduction redis://127.0.0.1:6379/0
//     swift run RedisProduction 'rediss://cache.internal:6380/0?tls_ca=/etc/stash/ca.pem'

// snippet.hide
import NIOCore
import Stash
import StashRedis

// snippet.show
// snippet.server
/// One server: a pool of up to 4 pipelined connections, 5 s per command, every key under `stash:`.
func singleServer() throws -> RedisStore {
    try RedisStore(url: "redis://stash:secret@127.0.0.1:6379/0")  // [user:]password@host:port/database
}
// snippet.end

// snippet.configuration
/// The same as a struct, with the settings a production deployment tunes.
func configured() throws -> RedisStore {
    var configuration = RedisConfiguration(host: "cache.internal", port: 6379, username: "stash", password: "secret")
    configuration.commandTimeout = .seconds(2)  // a command waits this long for its reply, then throws timedOut
    configuration.connectTimeout = .seconds(2)
    configuration.maximumConnections = 8  // concurrent commands share them, pipelined
    configuration.keyPrefix = "myapp"  // every key is myapp:<namespace path>|<key>
    return try RedisStore(configuration: configuration)
}
// snippet.end

// snippet.tls
/// TLS with a private CA, checking a name other than the address connected to; and mutual TLS.
func withTLS() throws -> (RedisStore, RedisStore) {
    let privateCA = try RedisStore(url: "rediss://stash:secret@10.0.0.7:6380/0?tls_ca=/etc/stash/ca.pem&tls_server_name=cache.internal")
    var configuration = RedisConfiguration(host: "cache.internal", port: 6380)
    configuration.tls = try RedisTLS(caFile: "/etc/stash/ca.pem", certificateFile: "/etc/stash/client.pem", privateKeyFile: "/etc/stash/client.key")
    return (privateCA, try RedisStore(configuration: configuration))
}
// snippet.end

// snippet.cluster
/// A Redis Cluster, by any of its nodes: the store reads the topology and sends each key to its slot's primary.
func cluster() throws -> RedisStore {
    var configuration = RedisConfiguration(username: "stash", password: "secret")
    configuration.cluster = [RedisNodeAddress(host: "10.0.0.1", port: 7000), RedisNodeAddress(host: "10.0.0.2", port: 7000)]
    return try RedisStore(configuration: configuration)  // or RedisStore(url: "redis+cluster://stash:secret@10.0.0.1:7000,10.0.0.2:7000/")
}
// snippet.end

// snippet.nearCache
/// Reads served from process memory, kept coherent by the server's invalidation pushes (RESP3 client tracking).
func withNearCache(url: String) throws -> RedisStore {
    var configuration = try RedisConfiguration(url: url)
    configuration.nearCache = RedisNearCache(maximumEntries: 10_000, maximumBytes: 64 * 1024 * 1024)
    return try RedisStore(configuration: configuration)
}
// snippet.end

// snippet.run
// The store's service opens the pool's minimum connections, and at shutdown lets commands in flight finish. Every
// failure is a typed StoreError: unavailable, timedOut, authenticationFailed, tlsFailed, serverError.
let url = CommandLine.arguments.dropFirst().first ?? "redis://127.0.0.1:6379/0"
let root = try withNearCache(url: url)
let sessions = try root.withNamespace("sessions")
do {
    try await withThrowingDiscardingTaskGroup { group in
        group.addTask { [root] in try await root.service.run() }
        try await sessions.set("greeting", value: ByteBuffer(string: "hello"), expiresIn: .milliseconds(1500))
        print("get:", try await sessions.get("greeting").map { String(buffer: $0) } ?? "missing")
        print("again, from the near cache:", try await sessions.get("greeting").map { String(buffer: $0) } ?? "missing")
        print("expiry:", try await sessions.expiry(of: "greeting"))  // kept to the millisecond: PX, never whole seconds
        try await sessions.deleteAll()  // SCAN and UNLINK of stash:sessions|*, nothing else
        group.cancelAll()
    }
} catch let error as StoreError {
    print("the store failed: \(error.code): \(error.message)")
}
// snippet.end
