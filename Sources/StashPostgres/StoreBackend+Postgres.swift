public import Stash

extension StoreBackend {
    /// `postgres://` and `postgresql://` URLs: a ``PostgresStore``, as ``PostgresStore/init(url:configuration:)`` makes it (its
    /// table made at the first statement when missing).
    public static let postgres = StoreBackend(name: "postgres", prefixes: ["postgres://", "postgresql://"]) { url in
        try PostgresStore(url: url)
    }
}
