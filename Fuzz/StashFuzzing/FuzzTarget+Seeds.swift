import HTTPTypes
import NIOCore

@testable import Stash
@testable import StashMiddleware
@testable import StashRedis

extension FuzzTarget {
    /// Inputs a fuzzing run starts from: well-formed ones, made by the encoders Stash writes with where there are
    /// any, so that the fuzzer begins past every format's header (`stash-fuzz --write-seeds DIRECTORY`).
    package var seeds: [[UInt8]] {
        switch self {
        case .resp:
            return [
                "+OK\r\n", "-ERR wrong\r\n", ":-42\r\n", "$5\r\nhello\r\n", "$-1\r\n", "*2\r\n$3\r\nGET\r\n:1\r\n", "*-1\r\n",
                "_\r\n", "#t\r\n", ",3.25\r\n", "(123456789012345678901234567890\r\n", "!5\r\nerror\r\n", "=9\r\ntxt:hello\r\n",
                "%1\r\n+key\r\n:1\r\n", "~2\r\n:1\r\n:2\r\n", "|1\r\n+ttl\r\n:3\r\n+OK\r\n",
                ">2\r\n$10\r\ninvalidate\r\n*1\r\n$3\r\nkey\r\n", "*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$2\r\nhi\r\n+PONG\r\n",
            ].map { Array($0.utf8) }
        case .cookie:
            let id = SessionID.generate()
            return [
                "session=\(id)", "a=1; session=\(id); b=2", "session=\"\(id)\"", "session=; session=\(id)\0__Host-session=\(id)", "=;;=; session",
            ]
            .map { Array($0.utf8) }
        case .cacheControl:
            return [
                "max-age=60, s-maxage=30, public\0Tue, 15 Nov 1994 08:12:31 GMT\0Tue, 15 Nov 1994 09:12:31 GMT\0120\0Accept-Encoding",
                "no-store, private=\"Set-Cookie\"\0Sunday, 06-Nov-94 08:49:37 GMT\0Sun Nov  6 08:49:37 1994\0-1\0*",
                "must-revalidate, stale-while-revalidate=30, no-cache=\"a, b\"\0\00\09999999999999999999999\0",
            ].map { Array($0.utf8) }
        case .etag:
            return ["\"abc\", W/\"def\"\0W/\"def\"", "*\0\"x\"", "W/\"\0\""].map { Array($0.utf8) }
        case .forwarded:
            return [
                "for=192.0.2.60;proto=http, for=\"[2001:db8:cafe::17]:4711\"\0203.0.113.9, 10.0.0.2\010.0.0.0/8,::1/128\010.0.0.1",
                "for=unknown, For=_hidden\0::ffff:192.0.2.1\0192.0.2.0/24\0192.0.2.7",
            ].map { Array($0.utf8) }
        case .storeURL:
            return [
                "redis://user:p%40ss@[::1]:6379/2?timeout=5", "rediss+cluster://a:7000,b:7001/", "postgres://app:secret@db:5432/app?sslmode=require",
                "file:/var/lib/stash", "memory",
            ].map { Array($0.utf8) }
        case .sessionRecord:
            let record = SessionRecord(
                values: ["theme": ByteBuffer(string: "\"dark\""), "visits": ByteBuffer(string: "3")],
                renewedAt: 1_800_000_000_000,
                createdAt: 1_799_000_000_000,
                userID: "ada"
            )
            var fields = ByteBuffer()
            StoreRecordEncoding.write(record.fields, to: &fields)
            return [Array(buffer: record.encoded()), Array(buffer: fields)]
        case .cacheEntry:
            let response = StashResponse(
                status: .ok,
                headerFields: [.contentType: "text/plain", .cacheControl: "max-age=60", .eTag: "\"v1\""],
                body: "hello"
            )
            let stored = CachedResponse(response: response, storedAt: 1_800_000_000_000, lifetime: 60_000)
            return [
                Array(buffer: CacheEntry.response(stored).encoded()), Array(buffer: CacheEntry.vary([.acceptEncoding, .acceptLanguage]).encoded()),
            ]
        case .fileEntry:
            let entry = FileEntry(key: "a key", value: ByteBuffer(string: "a value"), expiresAt: 1_800_000_000_000)
            return [Array(buffer: entry.encoded()), Array(buffer: FileEntry(key: "k", value: ByteBuffer(), expiresAt: nil).encoded())]
        case .snapshot:
            let snapshot = Snapshot(
                writer: Array(repeating: 7, count: Snapshot.writerLength),
                entries: [
                    .init(namespace: [], key: "a", value: ByteBuffer(string: "1"), expiresAt: nil),
                    .init(namespace: ["sessions", "x"], key: "b", value: ByteBuffer(string: "22"), expiresAt: 1_800_000_000_000),
                ]
            )
            return [Array(buffer: snapshot.encoded())]
        case .rateLimitState:
            return ["F 1800000000000 3", "S 1799999940000 4 2", "G 1800000000123456", "B 1800000600000", "F -5 9223372036854775807"]
                .map { Array($0.utf8) }
        }
    }
}
