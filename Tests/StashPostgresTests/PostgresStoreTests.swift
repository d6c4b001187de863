import Foundation
import NIOCore
import Stash
import StashTesting
import Testing

@testable import StashPostgres

/// Runs SQL on the test server with psql, to look at the table behind the store's back.
func psql(_ sql: String, as user: String? = nil) async throws -> String {
    let connection = try PostgresTestServer.connection()
    let result = try await runProgram(
        try PostgresTestServer.binDirectory() + "/psql",
        [
            "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h", connection.host, "-p", String(connection.port), "-U", user ?? connection.username,
            "-d",
            connection.database ?? connection.username, "-c", sql,
        ]
    )
    guard result.status == 0 else { throw PostgresCluster.ClusterFailure(description: "psql failed: \(result.output)") }
    return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
}

@Suite struct PostgresStoreTests {
    @Test func twoInstancesRacingOnInsertHaveOneWinner() async throws {
        let table = PostgresTestServer.uniqueName("race")
        try await withPostgresStore(.testing(table: table)) { first in
            try await withPostgresStore(.testing(table: table)) { second in
                for round in 0..<5 {
                    let key = "lock \(round)"
                    let winners = try await withThrowingTaskGroup(of: Int?.self) { group in
                        for index in 0..<40 {
                            let store = index.isMultiple(of: 2) ? first : second
                            group.addTask {
                                try await store.insert(key, value: ByteBuffer(string: "owner \(index)"), expiresIn: .seconds(60)) ? index : nil
                            }
                        }
                        var winners: [Int] = []
                        for try await winner in group {
                            if let winner { winners.append(winner) }
                        }
                        return winners
                    }
                    #expect(winners.count == 1, "exactly one insert of 40 across two instances wins, got \(winners)")
                    if let winner = winners.first {
                        #expect(try await second.get(key) == ByteBuffer(string: "owner \(winner)"))
                    }
                }
            }
        }
    }

    @Test func twoInstancesRacingOnIncrementsCountExactly() async throws {
        let table = PostgresTestServer.uniqueName("race")
        try await withPostgresStore(.testing(table: table)) { first in
            try await withPostgresStore(.testing(table: table)) { second in
                let results = try await withThrowingTaskGroup(of: Int64.self) { group in
                    for index in 0..<1000 {
                        let store = index.isMultiple(of: 2) ? first : second
                        group.addTask { try await store.increment("hits", by: 1, expiresIn: .seconds(600)) }
                    }
                    var results: [Int64] = []
                    for try await result in group { results.append(result) }
                    return results
                }
                #expect(results.sorted() == Array(1...1000), "every increment returns a distinct value")
                #expect(try await first.get("hits") == ByteBuffer(string: "1000"))
            }
        }
    }

    @Test func concurrentUpdatesFromTwoInstancesLoseNothing() async throws {
        let table = PostgresTestServer.uniqueName("race")
        try await withPostgresStore(.testing(table: table)) { first in
            try await withPostgresStore(.testing(table: table)) { second in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<100 {
                        let store = index.isMultiple(of: 2) ? first : second
                        group.addTask {
                            _ = try await store.update("log") { current in
                                var next = current ?? ByteBuffer()
                                next.writeString("\(index),")
                                return .set(next, expiresIn: nil)
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                let log = try #require(try await first.get("log"))
                let entries = String(buffer: log).split(separator: ",").compactMap { Int($0) }
                #expect(entries.sorted() == Array(0..<100), "100 concurrent updates from two instances leave 100 entries")
            }
        }
    }

    @Test func incrementsNearTheLimitsOfInt64() async throws {
        try await withPostgresStore { root in
            let store = try root.withNamespace(PostgresTestServer.uniqueName("limits"))
            // initialValue + amount overflows, but the counter exists: the sum that matters does not.
            try await store.set("big", value: ByteBuffer(string: "5"))
            #expect(try await store.increment("big", by: 2, initialValue: Int64.max, expiresIn: nil) == 7)
            await expectStoreError([.conversionFailed], "a new counter whose start overflows") {
                try await store.increment("fresh", by: 1, initialValue: Int64.max, expiresIn: nil)
            }
            #expect(try await store.exists("fresh") == false)
            #expect(try await store.increment("low", by: -1, initialValue: Int64.min + 1, expiresIn: nil) == Int64.min)
            await expectStoreError([.conversionFailed], "decrementing below Int64.min") {
                try await store.increment("low", by: -1)
            }
            try await store.set("huge", value: ByteBuffer(string: "9999999999999999999"))
            await expectStoreError([.conversionFailed], "a 19-digit value beyond Int64.max") {
                try await store.increment("huge")
            }
        }
    }

    /// Every byte a UTF-8 key can hold (every ASCII character, NUL included, every lead and continuation byte), and
    /// SQL's metacharacters, in keys; `_` and `-` in namespace names; values with all 256 byte values.
    @Test func everyByteAndSQLMetacharactersRoundTrip() async throws {
        try await withPostgresStore { root in
            let store = try root.withNamespace(PostgresTestServer.uniqueName("bytes"))
            var keys = [String(decoding: (0..<128).map { UInt8($0) }, as: UTF8.self)]
            // Two-byte scalars: U+0080…U+00BF hold every continuation byte (80…BF), then one per lead byte C3…DF.
            keys.append(
                String(
                    String.UnicodeScalarView(
                        (0x80...0xBF).compactMap { Unicode.Scalar(UInt32($0)) } + (0xC3...0xDF).compactMap { Unicode.Scalar(UInt32($0 - 0xC0) << 6) }
                    )
                )
            )
            // Three- and four-byte scalars: lead bytes E0…EF (ED without a surrogate) and F0…F4.
            keys.append(
                String(String.UnicodeScalarView((0xE0...0xEF).compactMap { Unicode.Scalar($0 == 0xE0 ? 0x0800 : UInt32($0 - 0xE0) << 12 | 0x100) }))
            )
            keys.append(String(String.UnicodeScalarView([0x10000, 0x40000, 0x80000, 0xC0000, 0x10FFFF].compactMap { Unicode.Scalar(UInt32($0)) })))
            keys += ["'", "\"", ";", "--", "%", "_", "\\", "'; DROP TABLE stash_tests; --", "$1", "a%b_c\\d", "\u{0}", "E'\\x00'", "\\x41"]
            let allBytes: Set<UInt8> = Set(keys.flatMap { $0.utf8 })
            let possible = Set((0...0x7F).map { UInt8($0) }).union((0x80...0xBF).map { UInt8($0) }).union((0xC2...0xF4).map { UInt8($0) })
            #expect(possible.isSubset(of: allBytes), "the keys hold every byte UTF-8 allows")
            for key in keys {
                #expect(key.utf8.count <= StoreLimits.maximumKeyLength)
            }

            var value = ByteBuffer()
            value.writeBytes((0...255).map { UInt8($0) } + (0...255).reversed().map { UInt8($0) })
            for (index, key) in keys.enumerated() {
                var indexed = value
                indexed.writeString("#\(index)")
                try await store.set(key, value: indexed)
            }
            for (index, key) in keys.enumerated() {
                var indexed = value
                indexed.writeString("#\(index)")
                #expect(try await store.get(key) == indexed, "key \(key.debugDescription) reads back its own value")
            }
            let listed = try await store.keys().collect()
            #expect(Set(listed.map { Array($0.utf8) }) == Set(keys.map { Array($0.utf8) }), "listing returns the exact bytes of every key")
            #expect(try await store.keys(withPrefix: "%").collect() == ["%"], "% in a prefix is literal")
            #expect(try await store.keys(withPrefix: "_").collect() == ["_"], "_ in a prefix is literal")
            #expect(try await store.keys(withPrefix: "\\").collect().sorted() == ["\\", "\\x41"], "\\ in a prefix is literal")
            #expect(try await store.keys(withPrefix: "'").collect().sorted() == ["'", "'; DROP TABLE stash_tests; --"])

            for name in ["a_b", "a-b", "a--b", "_", "-", "--", "__init__"] {
                let child = try store.withNamespace(name)
                try await child.set("k", value: ByteBuffer(string: name))
            }
            for name in ["a_b", "a-b", "a--b", "_", "-", "--", "__init__"] {
                #expect(try await store.withNamespace(name).get("k") == ByteBuffer(string: name), "namespace \(name) keeps its own value")
            }
            #expect(try await psql("SELECT count(*) FROM stash_tests") != "", "the table survived every key")
        }
    }

    @Test func deleteAllTakesTheNamespaceAndItsChildrenOnly() async throws {
        try await withPostgresStore { root in
            let base = try root.withNamespace(PostgresTestServer.uniqueName("ns"))
            let names = ["a", "ab", "a_b", "aXb", "a-b", "A", "a0", "b"]
            for name in names {
                let store = try base.withNamespace(name)
                try await store.set("k", value: ByteBuffer(string: name))
                try await store.withNamespace("child").set("k", value: ByteBuffer(string: name + "/child"))
            }
            try await base.set("a", value: ByteBuffer(string: "key named a"))
            try await base.withNamespace("a").deleteAll()
            #expect(try await base.withNamespace("a").get("k") == nil)
            #expect(try await base.withNamespace("a").withNamespace("child").get("k") == nil)
            for name in names where name != "a" {
                #expect(try await base.withNamespace(name).get("k") == ByteBuffer(string: name), "deleteAll on a leaves \(name)")
                #expect(try await base.withNamespace(name).withNamespace("child").get("k") == ByteBuffer(string: name + "/child"))
            }
            #expect(try await base.get("a") == ByteBuffer(string: "key named a"), "deleteAll on a leaves its parent's key a")

            try await base.withNamespace("a_b").deleteAll()
            #expect(try await base.withNamespace("aXb").get("k") == ByteBuffer(string: "aXb"), "_ is no wildcard: a_b never matches aXb")
            #expect(try await base.withNamespace("a-b").get("k") == ByteBuffer(string: "a-b"))
        }
    }

    @Test func namespacesAreStoredAsPaths() async throws {
        let table = PostgresTestServer.uniqueName("paths")
        try await withPostgresStore(.testing(table: table)) { root in
            try await root.set("r", value: ByteBuffer(string: "root"))
            try await root.withNamespace("sessions").withNamespace("v2").set("k", value: ByteBuffer(string: "nested"))
            #expect(root.namespace == "")
            #expect(try root.withNamespace("sessions").withNamespace("v2").namespace == "sessions/v2/")
            let rows = try await psql("SELECT namespace || '|' || convert_from(key, 'UTF8') FROM \(table) ORDER BY 1")
            #expect(rows.split(separator: "\n") == ["sessions/v2/|k", "|r"] || rows.split(separator: "\n") == ["|r", "sessions/v2/|k"])
        }
    }

    @Test func expiredRowsArePurgedInBatches() async throws {
        let table = PostgresTestServer.uniqueName("purge")
        var configuration = PostgresStore.Configuration.testing(table: table)
        configuration.purgeBatchSize = 10
        try await withPostgresStore(configuration) { root in
            let store = try root.withNamespace("expiring")
            for index in 0..<95 {
                try await store.set("gone \(index)", value: ByteBuffer(string: "x"), expiresIn: .milliseconds(1))
            }
            try await store.set("live", value: ByteBuffer(string: "l"))
            try await store.set("later", value: ByteBuffer(string: "l"), expiresIn: .seconds(600))
            try await root.set("sibling expired", value: ByteBuffer(string: "x"), expiresIn: .milliseconds(1))
            try await Task.sleep(for: .milliseconds(50))
            #expect(try await psql("SELECT count(*) FROM \(table)") == "98", "expired rows stay until purged")

            let purged = try await store.purgeExpired()
            #expect(purged.rows == 95)
            #expect(purged.batches == 10, "95 rows in batches of 10 take 10 statements")
            #expect(try await psql("SELECT count(*) FROM \(table) WHERE namespace = 'expiring/'") == "2")
            #expect(try await psql("SELECT count(*) FROM \(table) WHERE namespace = ''") == "1", "a namespace's purge leaves its parent's rows")
            #expect(try await store.get("live") == ByteBuffer(string: "l"))
        }
    }

    @Test func theRunningStorePurgesInTheBackground() async throws {
        let table = PostgresTestServer.uniqueName("sweep")
        var configuration = PostgresStore.Configuration.testing(table: table)
        configuration.purgeInterval = .milliseconds(100)
        try await withPostgresStore(configuration) { root in
            let child = try root.withNamespace("child")
            for index in 0..<30 {
                try await child.set("gone \(index)", value: ByteBuffer(string: "x"), expiresIn: .milliseconds(1))
            }
            try await root.set("live", value: ByteBuffer(string: "l"))
            let deadline = ContinuousClock.now + .seconds(20)
            var count = try await psql("SELECT count(*) FROM \(table)")
            while count != "1", ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
                count = try await psql("SELECT count(*) FROM \(table)")
            }
            #expect(count == "1", "the background purge removed every expired row and nothing else")
        }
    }

    @Test func migrationsRunConcurrentlyByManyInstances() async throws {
        let table = PostgresTestServer.uniqueName("migrate")
        let stores = try (0..<6).map { _ in
            try PostgresStore(connection: PostgresTestServer.connection(), configuration: .testing(table: table))
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for store in stores {
                group.addTask { try await store.service.run() }
            }
            try await withThrowingTaskGroup(of: Void.self) { writers in
                for (index, store) in stores.enumerated() {
                    writers.addTask { try await store.set("from \(index)", value: ByteBuffer(string: "\(index)")) }
                }
                try await writers.waitForAll()
            }
            #expect(try await stores[0].keys().collect().count == 6, "every instance migrated and wrote")
            group.cancelAll()
        }
        #expect(try await psql("SELECT count(*) FROM pg_indexes WHERE tablename = '\(table)'") == "2", "the primary key and the expiry index")
        let sql = try PostgresSchema.migrationSQL(table: table)
        #expect(sql.contains("CREATE TABLE IF NOT EXISTS \"\(table)\""))
        // The documented SQL is what the store runs: running it again only notices that everything exists.
        let output = try await psql(sql)
        #expect(output.contains("already exists, skipping") && !output.contains("ERROR"), "\(output)")
    }

    @Test func aStoreThatDoesNotMigrateUsesAnExistingTable() async throws {
        let table = PostgresTestServer.uniqueName("premade")
        _ = try await psql(try PostgresSchema.migrationSQL(table: table))
        var premade = PostgresStore.Configuration.testing(table: table)
        premade.createsTable = false
        try await withPostgresStore(premade) { store in
            try await store.set("k", value: ByteBuffer(string: "v"))
            #expect(try await store.get("k") == ByteBuffer(string: "v"))
        }
        var missing = PostgresStore.Configuration.testing(table: PostgresTestServer.uniqueName("missing"))
        missing.createsTable = false
        try await withPostgresStore(missing) { store in
            await expectStoreError([.serverError], "a missing table that the store may not create") {
                try await store.get("k")
            }
        }
    }
}
