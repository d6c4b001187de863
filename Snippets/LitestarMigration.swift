// Litestar's store calls and their Stash equivalents, side by side, on a memory store.

// snippet.hide
import NIOCore
import Stash

// snippet.show
// snippet.registry
// stores = StoreRegistry(default_factory=root.with_namespace)
let root = try MemoryStore(configuration: .init(maximumBytes: 64 * 1024 * 1024))
let stores = StoreRegistry(defaultFactory: root.withNamespace)
// store = stores.get("sessions")
let store = try stores.store(named: "sessions")
// snippet.end

// snippet.calls
// await store.set("key", b"value", expires_in=60)
try await store.set("key", value: ByteBuffer(string: "value"), expiresIn: .seconds(60))
// await store.get("key", renew_for=60)
let value = try await store.get("key", renewingFor: .seconds(60))
// await store.exists("key")
let exists = try await store.exists("key")
// await store.expires_in("key"): whole seconds; here missing, never, or the time left to the millisecond
let expiry = try await store.expiry(of: "key")
// await store.delete("key"); await store.delete_all()
try await store.delete("key")
try await store.deleteAll()
// store.with_namespace("users")
let users = try store.withNamespace("users")
// await store.delete_expired() (memory and file stores); every Stash store has it, and sweeps while its service runs
try await users.deleteExpired()
print(value.map { String(buffer: $0) } ?? "missing", exists, expiry)
// snippet.end

// snippet.beyond
// What Litestar's stores lack: atomic counters, read-modify-write and insert-if-absent, the same on every store.
let hits = try await store.increment("hits", by: 1, expiresIn: .seconds(60))
let created = try await store.insert("lock", value: ByteBuffer(string: "owner"), expiresIn: .seconds(30))
_ = try await store.update("list") { current in
    var list = current ?? ByteBuffer()
    list.writeString("item;")
    return .setKeepingExpiry(list)
}
print(hits, created)
// snippet.end
