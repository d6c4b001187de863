import NIOCore
import Stash
import Testing

@testable import StashMiddleware

@Suite struct SessionEncodingTests {
    @Test func idsAre43CharactersOfBase64URLAndNeverRepeat() {
        var seen: Set<String> = []
        for _ in 0..<2000 {
            let id = SessionID.generate()
            #expect(id.utf8.count == 43)
            #expect(
                id.utf8.allSatisfy { byte in
                    (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                        || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
                }
            )
            #expect(SessionID.isWellFormed(id.utf8), "\(id)")
            seen.insert(id)
        }
        #expect(seen.count == 2000)
    }

    @Test func idsUseEveryBitOfEntropy() {
        // 256 bits: over many ids every one of the 43 positions takes many values, and the last character only the
        // 16 whose two padding bits are clear.
        var lastCharacters: Set<Character> = []
        var firstCharacters: Set<Character> = []
        for _ in 0..<2000 {
            let id = SessionID.generate()
            lastCharacters.insert(id.last!)
            firstCharacters.insert(id.first!)
        }
        #expect(lastCharacters.count == 16)
        #expect(firstCharacters.count == 64)
    }

    @Test func aRecordRoundTripsAndEncodesDeterministically() throws {
        let record = SessionRecord(
            values: ["b": ByteBuffer(string: "2"), "a": ByteBuffer(string: "\"x\""), "ключ": ByteBuffer(string: "{}")],
            renewedAt: 1_700_000_000_123
        )
        let encoded = record.encoded()
        #expect(try SessionRecord(decoding: encoded) == record)
        var copy = record
        copy.values["c"] = ByteBuffer(string: "3")
        copy.values["c"] = nil
        #expect(copy.encoded() == encoded, "equal sessions encode equally")
        #expect(try SessionRecord(decoding: SessionRecord(values: [:], renewedAt: 0).encoded()).values.isEmpty)
    }

    @Test func aDamagedRecordIsACorruptRecordError() throws {
        let encoded = SessionRecord(values: ["user": ByteBuffer(string: "\"ada\"")], renewedAt: 42).encoded()
        var damaged: [ByteBuffer] = (0..<encoded.readableBytes).map { encoded.getSlice(at: 0, length: $0)! }
        var trailing = encoded
        trailing.writeInteger(UInt8(0))
        damaged.append(trailing)
        var newer = encoded
        newer.setInteger(UInt8(2), at: 0)
        damaged.append(newer)
        var hugeCount = encoded
        hugeCount.setInteger(UInt32.max, at: 9)
        damaged.append(hugeCount)
        var duplicate = ByteBuffer()
        duplicate.writeInteger(UInt8(1))
        duplicate.writeInteger(Int64(0))
        duplicate.writeInteger(UInt32(2))
        for _ in 0..<2 {
            duplicate.writeInteger(UInt32(1))
            duplicate.writeString("k")
            duplicate.writeInteger(UInt32(1))
            duplicate.writeString("1")
        }
        damaged.append(duplicate)
        for buffer in damaged {
            let error = try #require(throws: StashMiddlewareError.self) { try SessionRecord(decoding: buffer) }
            #expect(error.code == .corruptSession, "\(buffer.readableBytes) bytes")
        }
    }

    @Test func anUnreadableStoredSessionIsTreatedAsUnknown() async throws {
        let store = MemoryStore()
        let middleware = SessionMiddleware(store: store)
        let id = SessionID.generate()
        try await store.set(id, value: ByteBuffer(string: "not a session"))
        let response = try await SessionRequests.send(middleware, id: id) { session in
            #expect(session.id == nil)
            try session.setValue(1, forKey: "n")
        }
        let fresh = try SessionRequests.issuedID(response)
        #expect(fresh != id)
        #expect(try await store.get(id) == ByteBuffer(string: "not a session"), "the unreadable record is left alone")
    }
}
