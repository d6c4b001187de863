import NIOCore
import PostgresNIO
public import Stash

extension PostgresStore {
    /// Lists the live keys of this namespace (not of its children), a page of ``Configuration/keysPageSize`` keys at
    /// a time, in byte order.
    ///
    /// Pages are read by keyset pagination: each page is the keys after the last one listed, found through the
    /// primary key, so a listing never holds a transaction or a cursor open, and a key that exists throughout is
    /// listed exactly once however the table changes meanwhile. A prefix is a range of the key's bytes, never a
    /// `LIKE` pattern, so `%`, `_` and `\` in it are literal.
    public func keys(withPrefix prefix: String) -> StoreKeys {
        StoreKeys {
            try await self.keysPage(prefix: prefix, after: nil)
        }
    }

    private func keysPage(prefix: String, after: ByteBuffer?) async throws -> StoreKeys.Page {
        let statements = self.storage.statements
        let pageSize = self.storage.configuration.keysPageSize
        let prefixBytes = Array(prefix.utf8)
        var binds = PostgresBindings(capacity: 4)
        binds.append(self.namespace)
        binds.append(after ?? ByteBuffer(bytes: prefixBytes))
        let sql: String
        if let end = Self.end(ofPrefix: prefixBytes) {
            binds.append(ByteBuffer(bytes: end))
            sql = after == nil ? statements.keysFirstWithPrefix : statements.keysAfterWithPrefix
        } else {
            sql = after == nil ? statements.keysFirst : statements.keysAfter
        }
        binds.append(Int64(pageSize))
        let query = PostgresQuery(unsafeSQL: sql, binds: binds)
        let keys = try await self.storage.all(ByteBuffer.self, of: query)
        let page = keys.map { String(buffer: $0) }
        guard keys.count == pageSize, let last = keys.last else {
            return StoreKeys.Page(keys: page)
        }
        return StoreKeys.Page(keys: page) {
            try await self.keysPage(prefix: prefix, after: last)
        }
    }

    /// The first byte string after every string starting with a prefix, or `nil` for the empty prefix (no bound).
    ///
    /// UTF-8 never holds the byte 0xFF, so adding one to the prefix's last byte always gives that bound.
    static func end(ofPrefix prefix: [UInt8]) -> [UInt8]? {
        guard let last = prefix.last else { return nil }
        var end = prefix
        end[end.count - 1] = last + 1
        return end
    }
}
