import NIOCore
import StashTesting
import Testing

@testable import Stash

/// The stored form of records, and the merge that changes it without decoding it into a dictionary.
@Suite struct StoreRecordEncodingTests {
    static let names = ["a", "b", "ab", "B", "é", "e\u{301}x", "\u{0}meta", "long-name-longer-than-fifteen-bytes", "z", "🗝", "10", "9"]

    @Test func theMergeGivesWhatApplyingTheChangesToTheDecodedFieldsGives() throws {
        var random = SplitMix64(seed: 42)
        for round in 0..<2_000 {
            var fields: [String: ByteBuffer] = [:]
            for name in Self.names where Bool.random(using: &random) {
                fields[name] = ByteBuffer(bytes: (0..<Int.random(in: 0...20, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) })
            }
            var changes = RecordChanges()
            for name in Self.names {
                switch Int.random(in: 0..<4, using: &random) {
                case 0: changes.set[name] = ByteBuffer(string: "new-\(round)")
                case 1: changes.remove.insert(name)
                default: break
                }
            }
            if Bool.random(using: &random) { changes.metadataFields = ["\u{0}meta", "z"] }

            let merged = try StoreRecordEncoding.merge(changes, into: StoreRecordEncoding.encode(fields))
            var expected = fields
            changes.apply(to: &expected)
            #expect(try StoreRecordEncoding.decode(merged.encoded) == expected, "round \(round)")
            #expect(merged.encoded == StoreRecordEncoding.encode(expected), "round \(round): the same bytes as encoding anew")
            #expect(merged.holdsContent == changes.holdsContent(expected), "round \(round)")
        }
    }

    @Test func aDamagedRecordIsRefusedAsCorrupt() throws {
        let changes = RecordChanges(set: ["b": ByteBuffer(string: "2")])
        let whole = StoreRecordEncoding.encode(["a": ByteBuffer(string: "1"), "c": ByteBuffer(string: "3")])
        for length in 2..<whole.readableBytes {
            let error = try #require(throws: StoreError.self) { try StoreRecordEncoding.merge(changes, into: whole.getSlice(at: 0, length: length)!) }
            #expect(error.code == .corruptEntry, "cut at \(length)")
        }
        // Names out of order, or twice: not something this encoder writes.
        var unordered = ByteBuffer(bytes: [0xA5, 1])
        unordered.writeInteger(UInt32(2))
        for name in ["c", "a"] {
            unordered.writeInteger(UInt32(1))
            unordered.writeString(name)
            unordered.writeInteger(UInt32(0))
        }
        #expect(throws: StoreError.self) { try StoreRecordEncoding.merge(changes, into: unordered) }
        let plain = try #require(throws: StoreError.self) { try StoreRecordEncoding.merge(changes, into: ByteBuffer(string: "plain")) }
        #expect(plain.code == .conversionFailed)
    }
}
