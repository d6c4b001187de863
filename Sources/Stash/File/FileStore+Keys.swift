import Crypto

extension FileStore {
    /// The most directory entries one page of ``keys(withPrefix:)`` reads.
    static var keysPageSize: Int { 256 }

    /// Lists the live keys of this namespace (not of its children), lazily, a page of directory entries at a time.
    ///
    /// The listing keeps the directory open between pages (a `DIR*` stream), so it reads the directory once
    /// however long it is, and closes it at the end or when the sequence is dropped. Each page reads the headers of
    /// at most 256 directory entries to recover their keys; expired entries, files that are not entries (temporary,
    /// foreign or corrupt files) and subdirectories are skipped. As with Redis `SCAN`, a key written or deleted
    /// during the listing may or may not be listed; every other key is listed exactly once. The order is the
    /// directory's, not sorted.
    public func keys(withPrefix prefix: String) -> StoreKeys {
        StoreKeys {
            try await self.perform {
                guard let cursor = try DirectoryCursor(path: self.directory) else { return StoreKeys.Page(keys: []) }
                return try self.keysPage(cursor, prefix: prefix)
            }
        }
    }

    private func keysPage(_ cursor: DirectoryCursor, prefix: String) throws -> StoreKeys.Page {
        let (names, finished) = try cursor.next(maximumCount: Self.keysPageSize)
        let now = self.nowInMilliseconds
        var keys: [String] = []
        for name in names where Self.isEntryName(name) {
            let header: (header: FileEntry.Header, key: String)?
            do {
                header = try FileEntry.readHeader(at: cursor.path + "/" + name)
            } catch is FileEntry.Malformed {
                continue
            }
            guard let (header, key) = header,
                !FileEntry.isExpired(header.expiresAt, at: now),
                key.utf8.starts(with: prefix.utf8),
                // A file copied under another key's name is not that key.
                SHA256.hexDigest(key.utf8) + Self.entrySuffix == name
            else { continue }
            keys.append(key)
        }
        guard !finished else { return StoreKeys.Page(keys: keys) }
        return StoreKeys.Page(keys: keys) {
            try await self.perform { try self.keysPage(cursor, prefix: prefix) }
        }
    }
}
