import NIOCore
import Stash
import Testing

extension StoreConformance {
    func checkRecords(_ store: S) async throws {
        let a = ByteBuffer(string: "alpha")
        let b = ByteBuffer(bytes: Array(0...255))
        let empty = ByteBuffer()

        #expect(try await store.record("doc", renewingFor: nil) == nil, "a missing record reads as nil")
        #expect(try await store.mergeRecord("doc", RecordChanges(set: ["a": a])) == .missing, "a merge never makes a record")
        #expect(try await store.record("doc", renewingFor: nil) == nil, "a merge into a missing record writes nothing")
        #expect(try await store.exists("doc") == false)
        #expect(try await store.takeRecord("doc") == nil)

        #expect(try await store.insertRecord("doc", fields: ["a": a, "b": b], expiresIn: nil), "a new record is stored")
        #expect(
            try await store.insertRecord("doc", fields: ["c": a], expiresIn: nil) == false,
            "an existing record is never overwritten by an insert"
        )
        #expect(try await store.record("doc", renewingFor: nil) == ["a": a, "b": b], "every byte value and field round-trips")
        #expect(try await store.exists("doc"))

        let odd = "field/with:odd\u{0}chars 🗝"
        #expect(try await store.mergeRecord("doc", RecordChanges(set: ["c": empty, odd: a], remove: ["a", "never-set"])) == .merged)
        #expect(
            try await store.record("doc", renewingFor: nil) == ["b": b, "c": empty, odd: a],
            "a merge removes and sets the fields it names and leaves the others; an empty value is a value"
        )
        #expect(try await store.mergeRecord("doc", RecordChanges(set: ["b": a])) == .merged)
        #expect(try await store.record("doc", renewingFor: nil)?["b"] == a, "setting a field replaces its value")

        #expect(try await store.mergeRecord("doc", RecordChanges(remove: ["b", "c", odd])) == .deleted, "removing the last field deletes")
        #expect(try await store.record("doc", renewingFor: nil) == nil)
        #expect(try await store.exists("doc") == false, "a record without fields does not exist")
        #expect(try await store.expiry(of: "doc") == .missing)

        // Metadata fields do not keep a record alive.
        #expect(try await store.insertRecord("meta", fields: ["@at": a, "x": a, "y": a], expiresIn: nil))
        let touch = RecordChanges(set: ["@at": b], remove: ["x"], metadataFields: ["@at"])
        #expect(try await store.mergeRecord("meta", touch) == .merged, "a record with content left is merged into")
        #expect(try await store.record("meta", renewingFor: nil) == ["@at": b, "y": a])
        let last = RecordChanges(set: ["@at": a], remove: ["y"], metadataFields: ["@at", "@other"])
        #expect(try await store.mergeRecord("meta", last) == .deleted, "a record left with only metadata is deleted")
        #expect(try await store.exists("meta") == false)

        #expect(try await store.insertRecord("taken", fields: ["a": a], expiresIn: .seconds(600)))
        #expect(try await store.takeRecord("taken") == ["a": a], "take returns the fields")
        #expect(try await store.exists("taken") == false, "take deletes the record")
        #expect(try await store.takeRecord("taken") == nil)

        // Records and plain values are told apart.
        try await store.set("plain", value: ByteBuffer(string: "not a record"), expiresIn: .seconds(600))
        await self.expectError(.conversionFailed, "reading a plain value as a record") { try await store.record("plain", renewingFor: nil) }
        await self.expectError(.conversionFailed, "merging into a plain value") {
            try await store.mergeRecord("plain", RecordChanges(set: ["a": a]))
        }
        await self.expectError(.conversionFailed, "taking a plain value as a record") { try await store.takeRecord("plain") }
        #expect(try await store.get("plain") == ByteBuffer(string: "not a record"), "a refused record operation changes nothing")
        #expect(try await store.insertRecord("plain", fields: ["a": a], expiresIn: nil) == false, "a live value is never overwritten")

        // Keys of records are keys: listed, deleted with their namespace.
        #expect(try await store.insertRecord("listed", fields: ["a": a], expiresIn: nil))
        let listed = try await store.keys().collect()
        #expect(listed.contains("listed"), "a record's key is listed")
        try await store.delete("listed")
        #expect(try await store.record("listed", renewingFor: nil) == nil, "delete removes a record")
    }

    func checkRecordExpiry(_ store: S) async throws {
        let a = ByteBuffer(string: "a")
        #expect(try await store.insertRecord("doc", fields: ["a": a], expiresIn: .seconds(600)))
        let created = try await store.expiry(of: "doc")
        #expect(Self.remaining(created, within: .seconds(590)...(.seconds(600))), "a record gets its expiry: \(created)")

        #expect(try await store.mergeRecord("doc", RecordChanges(set: ["b": a], expiry: .keep)) == .merged)
        let kept = try await store.expiry(of: "doc")
        #expect(Self.remaining(kept, within: .seconds(590)...(.seconds(600))), "keep leaves the expiry: \(kept)")

        #expect(try await store.mergeRecord("doc", RecordChanges(set: ["c": a], expiry: .reset(.seconds(1200)))) == .merged)
        let reset = try await store.expiry(of: "doc")
        #expect(Self.remaining(reset, within: .seconds(1190)...(.seconds(1200))), "reset sets a new expiry: \(reset)")

        #expect(try await store.record("doc", renewingFor: .seconds(3000)) == ["a": a, "b": a, "c": a])
        let renewed = try await store.expiry(of: "doc")
        #expect(Self.remaining(renewed, within: .seconds(2990)...(.seconds(3000))), "reading renewing resets the expiry: \(renewed)")

        #expect(try await store.mergeRecord("doc", RecordChanges(expiry: .reset(nil))) == .merged, "a merge may only change the expiry")
        #expect(try await store.expiry(of: "doc") == .never, "reset to none removes the expiry")
        #expect(try await store.record("doc", renewingFor: .seconds(60)) != nil)
        #expect(try await store.expiry(of: "doc") == .never, "renewing never gives an expiry to a record without one")

        // An expired record is gone: not read, not merged into (a change is never written to a record that ended), and
        // a new one can be inserted.
        #expect(try await store.insertRecord("short", fields: ["a": a], expiresIn: self.shortExpiry))
        try await self.pass(self.shortExpiry + .milliseconds(200))
        #expect(try await store.record("short", renewingFor: nil) == nil, "an expired record reads as nil")
        #expect(try await store.mergeRecord("short", RecordChanges(set: ["b": a])) == .missing, "an expired record is not merged into")
        #expect(try await store.exists("short") == false, "nor brought back by a merge")
        #expect(try await store.insertRecord("short", fields: ["c": a], expiresIn: nil), "an expired record can be inserted again")
        #expect(try await store.record("short", renewingFor: nil) == ["c": a], "with none of the old fields")
    }

    func checkConcurrentRecordMerges(_ store: S) async throws {
        let seed = ByteBuffer(string: "seed")
        #expect(try await store.insertRecord("hot", fields: ["seed": seed, "drop": seed], expiresIn: .seconds(600)))
        try await withThrowingTaskGroup(of: RecordMergeResult.self) { group in
            for index in 0..<200 {
                group.addTask {
                    // Every task sets its own field; some also remove a field another task set or the seed's partner.
                    var changes = RecordChanges(set: ["f\(index)": ByteBuffer(string: "\(index)")])
                    if index == 100 { changes.remove = ["drop"] }
                    return try await store.mergeRecord("hot", changes)
                }
            }
            for try await result in group {
                #expect(result == .merged, "every merge into a live record lands")
            }
        }
        let fields = try #require(try await store.record("hot", renewingFor: nil))
        #expect(fields.count == 201, "200 concurrent merges of different fields lose none: \(fields.count) fields")
        #expect(fields["seed"] == seed && fields["drop"] == nil)
        #expect((0..<200).allSatisfy { fields["f\($0)"] == ByteBuffer(string: "\($0)") })

        // Of concurrent takes, exactly one gets the record.
        let takes = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<20 {
                group.addTask { try await store.takeRecord("hot") != nil }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(takes == 1, "exactly one of 20 concurrent takes gets the record, not \(takes)")
    }

    func checkRecordBadInput(_ store: S) async throws {
        let a = ByteBuffer(string: "a")
        #expect(try await store.insertRecord("kept", fields: ["a": a], expiresIn: .seconds(600)))
        let long = String(repeating: "f", count: StoreLimits.maximumKeyLength + 1)

        await self.expectError(.invalidRecord, "insert without fields") { try await store.insertRecord("new", fields: [:], expiresIn: nil) }
        await self.expectError(.invalidRecord, "insert with an empty field name") {
            try await store.insertRecord("new", fields: ["": a], expiresIn: nil)
        }
        await self.expectError(.invalidRecord, "insert with a field name too long") {
            try await store.insertRecord("new", fields: [long: a], expiresIn: nil)
        }
        await self.expectError(.invalidRecord, "merge setting an empty field name") {
            try await store.mergeRecord("kept", RecordChanges(set: ["": a]))
        }
        await self.expectError(.invalidRecord, "merge removing a field name too long") {
            try await store.mergeRecord("kept", RecordChanges(remove: [long]))
        }
        await self.expectError(.invalidRecord, "merge with an empty metadata field name") {
            try await store.mergeRecord("kept", RecordChanges(set: ["b": a], metadataFields: [""]))
        }
        await self.expectError(.invalidRecord, "merge both setting and removing a field") {
            try await store.mergeRecord("kept", RecordChanges(set: ["a": a], remove: ["a"]))
        }
        for expiry: Duration in [.zero, .seconds(-1), StoreLimits.maximumExpiry + .seconds(1)] {
            await self.expectError(.invalidExpiry, "insert with an expiry of \(expiry)") {
                try await store.insertRecord("new", fields: ["a": a], expiresIn: expiry)
            }
            await self.expectError(.invalidExpiry, "merge resetting the expiry to \(expiry)") {
                try await store.mergeRecord("kept", RecordChanges(set: ["b": a], expiry: .reset(expiry)))
            }
            await self.expectError(.invalidExpiry, "read renewing for \(expiry)") { try await store.record("kept", renewingFor: expiry) }
        }
        for key in ["", String(repeating: "k", count: StoreLimits.maximumKeyLength + 1)] {
            let what = "a key of \(key.utf8.count) bytes"
            await self.expectError(.invalidKey, "record with \(what)") { try await store.record(key, renewingFor: nil) }
            await self.expectError(.invalidKey, "insert record with \(what)") { try await store.insertRecord(key, fields: ["a": a], expiresIn: nil) }
            await self.expectError(.invalidKey, "merge record with \(what)") { try await store.mergeRecord(key, RecordChanges(set: ["a": a])) }
            await self.expectError(.invalidKey, "take record with \(what)") { try await store.takeRecord(key) }
        }
        await self.expectError(.valueTooLarge, "a record larger than the store's values") {
            try await store.insertRecord("new", fields: ["a": ByteBuffer(repeating: 0x61, count: store.maximumValueSize + 1)], expiresIn: nil)
        }
        #expect(try await store.record("kept", renewingFor: nil) == ["a": a], "refused record operations change nothing")
        #expect(try await store.exists("new") == false, "nor make a record")
        let expiry = try await store.expiry(of: "kept")
        #expect(Self.remaining(expiry, within: .seconds(590)...(.seconds(600))), "nor touch its expiry: \(expiry)")
    }

    /// Whether an expiry query reports a remaining time within the range.
    static func remaining(_ expiry: KeyExpiry, within range: ClosedRange<Duration>) -> Bool {
        guard case .expiresIn(let remaining) = expiry else { return false }
        return range.contains(remaining)
    }
}
