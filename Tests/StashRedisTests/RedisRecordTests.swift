import Foundation
import NIOCore
import Stash
import Testing

@testable import StashRedis

/// Records on Redis from two instances of an application: two stores, each with its own connections.
@Suite struct RedisRecordTests {
    @Test func mergesFromTwoInstancesIntoOneRecordLoseNothing() async throws {
        let namespace = "records-\(UUID().uuidString.prefix(8).lowercased())"
        let instances = try (0..<2).map { _ in try RedisStore(url: RedisTestServer.url()).withNamespace(namespace) }
        #expect(try await instances[0].insertRecord("shared", fields: ["seed": ByteBuffer(string: "s")], expiresIn: .seconds(600)))
        try await withThrowingTaskGroup(of: RecordMergeResult.self) { group in
            for (instance, store) in instances.enumerated() {
                for index in 0..<200 {
                    group.addTask {
                        try await store.mergeRecord("shared", RecordChanges(set: ["i\(instance)-\(index)": ByteBuffer(string: "\(index)")]))
                    }
                }
            }
            for try await result in group {
                #expect(result == .merged)
            }
        }
        let fields = try #require(try await instances[1].record("shared", renewingFor: nil))
        #expect(fields.count == 401, "every merge of both instances landed: \(fields.count) fields")
        try await instances[0].deleteAll()
    }
}
