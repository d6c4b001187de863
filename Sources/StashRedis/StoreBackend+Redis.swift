public import Stash

extension StoreBackend {
    /// `redis://`, `rediss://` (TLS), `redis+cluster://` and `rediss+cluster://` URLs: a ``RedisStore``, as
    /// ``RedisStore/init(url:)`` makes it.
    public static let redis = StoreBackend(
        name: "redis",
        prefixes: ["redis://", "rediss://", "redis+cluster://", "rediss+cluster://"]
    ) { url in
        try RedisStore(url: url)
    }
}
