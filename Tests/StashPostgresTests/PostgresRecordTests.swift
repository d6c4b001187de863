import NIOCore
import Stash
import StashTesting
import Testing

@testable import StashPostgres

/// The record function: added to tables made by the release before it, named in full for the longest table name,
/// and the stored form of a record.
@Suite struct PostgresRecordTests {
    static func functionExists(table: String) async throws -> Bool {
        let signature = PostgresStatements.recordFunctionSignature("\"\(table)_record\"")
        return try await psql("SELECT to_regprocedure('\(signature)') IS NOT NULL") == "t"
    }

    @Test func aTableFromTheEarlierMigrationGetsTheRecordFunctionOnTheNextStart() async throws {
        let table = PostgresTestServer.uniqueName("records")
        // What the migration made before records: the table, its index and the rate-limit function.
        let statements = PostgresStatements(table: table)
        _ = try await psql(statements.createTable + ";\n" + statements.createIndex + ";\n" + statements.createRateLimitFunction + ";")
        #expect(try await Self.functionExists(table: table) == false)

        var premade = PostgresStore.Configuration.testing(table: table)
        premade.createsTable = false
        try await withPostgresStore(premade) { store -> Void in
            let inserted = try await store.insertRecord("r", fields: ["a": ByteBuffer(string: "1")], expiresIn: nil)
            #expect(inserted)
            await expectStoreError([.serverError], "a merge on a table without the record function, which the store may not create") {
                try await store.mergeRecord("r", RecordChanges(set: ["b": ByteBuffer(string: "2")]))
            }
        }
        #expect(try await Self.functionExists(table: table) == false, "a store that does not migrate creates nothing")

        try await withPostgresStore(.testing(table: table)) { store -> Void in
            let merged = try await store.mergeRecord("r", RecordChanges(set: ["b": ByteBuffer(string: "2")]))
            #expect(merged == .merged)
            let fields = try await store.record("r", renewingFor: nil)
            #expect(fields == ["a": ByteBuffer(string: "1"), "b": ByteBuffer(string: "2")])
        }
        #expect(try await Self.functionExists(table: table), "the store's migration added the function")
    }

    @Test func theLongestTableNameNamesItsRecordFunctionInFull() async throws {
        let prefix = PostgresTestServer.uniqueName("longrec")
        let table = prefix + String(repeating: "x", count: PostgresStore.Configuration.maximumTableNameLength - prefix.utf8.count)
        try await withPostgresStore(.testing(table: table)) { store -> Void in
            let insertedLong = try await store.insertRecord("r", fields: ["a": ByteBuffer(string: "1")], expiresIn: nil)
            #expect(insertedLong)
            let taken = try await store.takeRecord("r")
            #expect(taken == ["a": ByteBuffer(string: "1")])
        }
        #expect(try await psql("SELECT count(*) FROM pg_proc WHERE proname = '\(table)_record'") == "1")
    }

    @Test func aRecordIsStoredAsJSONOfHexadecimalNamesAndValues() async throws {
        let table = PostgresTestServer.uniqueName("recform")
        try await withPostgresStore(.testing(table: table)) { store -> Void in
            let insertedOdd = try await store.insertRecord("r", fields: ["\u{0}n": ByteBuffer(bytes: [0, 0xFF])], expiresIn: nil)
            #expect(insertedOdd)
            let mergedOdd = try await store.mergeRecord("r", RecordChanges(set: ["a": ByteBuffer(string: "b")]))
            #expect(mergedOdd == .merged)
        }
        let stored = try await psql("SELECT convert_from(substring(value FROM 2), 'UTF8')::jsonb::text FROM \"\(table)\" WHERE key = 'r'::bytea")
        #expect(stored == #"{"61": "62", "006e": "00ff"}"#, "\(stored)")
        // A value that merely starts like a record is not one.
        _ = try await psql("INSERT INTO \"\(table)\" (namespace, key, value) VALUES ('', 'fake'::bytea, '\\xa57b'::bytea)")
        try await withPostgresStore(.testing(table: table)) { store -> Void in
            await expectStoreError([.conversionFailed], "a value that does not parse as a record") {
                try await store.record("fake", renewingFor: nil)
            }
            await expectStoreError([.conversionFailed], "a merge into it") {
                try await store.mergeRecord("fake", RecordChanges(set: ["a": ByteBuffer(string: "b")]))
            }
        }
    }

    @Test func mergesFromTwoInstancesIntoOneRecordLoseNothing() async throws {
        let table = PostgresTestServer.uniqueName("recshare")
        try await withPostgresStore(.testing(table: table)) { first -> Void in
            try await withPostgresStore(.testing(table: table)) { second -> Void in
                let inserted = try await first.insertRecord("shared", fields: ["seed": ByteBuffer(string: "s")], expiresIn: .seconds(600))
                #expect(inserted)
                try await withThrowingTaskGroup(of: RecordMergeResult.self) { group in
                    for (instance, store) in [first, second].enumerated() {
                        for index in 0..<100 {
                            group.addTask {
                                try await store.mergeRecord("shared", RecordChanges(set: ["i\(instance)-\(index)": ByteBuffer(string: "\(index)")]))
                            }
                        }
                    }
                    for try await result in group {
                        #expect(result == .merged)
                    }
                }
                let stored = try await second.record("shared", renewingFor: nil)
                let fields = try #require(stored)
                #expect(fields.count == 201, "every merge of both instances landed: \(fields.count) fields")
            }
        }
    }
}
