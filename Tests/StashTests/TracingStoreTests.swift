import Foundation
import InMemoryTracing
import NIOCore
import Stash
import StashTesting
import Testing
import Tracing

@Suite struct TracingStoreTests {
    static func string(_ span: FinishedInMemorySpan, _ key: String) -> String? {
        if case .string(let value) = span.attributes.get(key) { return value }
        return nil
    }

    /// Every operation of the contract, as the span it makes is named.
    static func everyOperation(_ store: TracingStore) async throws -> [String] {
        let value = ByteBuffer(string: "v")
        _ = try await store.get("user:42")
        _ = try await store.get("user:42", renewingFor: .seconds(5))
        try await store.set("user:42", value: value, expiresIn: .seconds(60))
        _ = try await store.insert("user:43", value: value, expiresIn: nil)
        _ = try await store.exists("user:42")
        _ = try await store.expiry(of: "user:42")
        _ = try await store.increment("hits:42", by: 2, initialValue: 0, expiresIn: nil)
        _ = try await store.update("user:42") { _ in .unchanged }
        _ = try await store.insertRecord("record:42", fields: ["a": value], expiresIn: .seconds(60))
        _ = try await store.record("record:42", renewingFor: nil)
        _ = try await store.mergeRecord("record:42", RecordChanges(set: ["b": value]))
        _ = try await store.takeRecord("record:42")
        _ = try await store.rateLimit("client:10.0.0.1", rule: RateLimitRule(limit: 5, per: .seconds(60)), .consume(1))
        try await store.delete("user:42")
        try await store.deleteExpired()
        try await store.deleteAll()
        return [
            "get", "get_and_renew", "set", "insert", "exists", "expiry", "increment", "update", "insert_record", "record",
            "merge_record", "take_record", "rate_limit", "delete", "delete_expired", "delete_all",
        ]
    }

    @Test(arguments: ["memory", "file"])
    func everyOperationIsAClientSpanWithTheDatabaseAttributesAndNoKey(_ kind: String) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stash-tracing-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let base: any Store = kind == "memory" ? MemoryStore() : try FileStore(directory: directory)
        let tracer = InMemoryTracer()
        let store = TracingStore(try base.withNamespace("sessions"), namespace: "sessions", tracer: tracer)
        #expect(store.traceSystemName == "stash.\(kind)")

        let operations = try await Self.everyOperation(store)
        let spans = tracer.finishedSpans
        #expect(spans.map(\.operationName) == operations.map { "\($0) sessions" })
        for (span, operation) in zip(spans, operations) {
            #expect(span.kind == .client)
            #expect(Self.string(span, "db.system.name") == "stash.\(kind)")
            #expect(Self.string(span, "db.operation.name") == operation)
            #expect(Self.string(span, "stash.namespace") == "sessions")
            #expect(span.errors.isEmpty && span.status == nil)
            var text = ""
            // swift-format-ignore: ReplaceForEachWithForLoop
            // SpanAttributes is not a sequence: forEach is its own method.
            span.attributes.forEach { key, value in text += "\(key)=\(value) " }
            #expect(!text.contains("42") && !text.contains("10.0.0.1"), "a key in \(text)")
        }
    }

    @Test func aFailureIsRecordedByItsCodeWithoutTheKeyAndRethrown() async throws {
        let tracer = InMemoryTracer()
        let store = TracingStore(MemoryStore(), namespace: "", tracer: tracer)
        let tooLong = String(repeating: "k", count: StoreLimits.maximumKeyLength + 1)
        await #expect(throws: StoreError.self) { try await store.set(tooLong, value: ByteBuffer(string: "v"), expiresIn: nil) }
        let span = try #require(tracer.finishedSpans.last)
        #expect(span.operationName == "set", "no namespace, no suffix")
        #expect(span.status?.code == .error)
        #expect(Self.string(span, "error.type") == "invalidKey")
        #expect(span.errors.map { "\($0.error)" } == ["StoreError.invalidKey"])
        #expect(!span.errors.map { "\($0.error)" }.joined().contains("kkkk"))
    }

    @Test func spansNestUnderTheCallersSpanAndChildNamespacesSayTheirPath() async throws {
        let tracer = InMemoryTracer()
        let store = TracingStore(MemoryStore(), namespace: "app", tracer: tracer)
        let child = try store.withNamespace("users")
        #expect(child.namespace == "app/users")
        let parent = tracer.startSpan("request")
        try await ServiceContext.withValue(parent.context) { try await child.set("a", value: ByteBuffer(string: "v"), expiresIn: nil) }
        parent.end()
        let set = try #require(tracer.finishedSpans.first { $0.operationName == "set app/users" })
        let request = try #require(tracer.finishedSpans.first { $0.operationName == "request" })
        #expect(set.parentSpanID == request.spanID && set.traceID == request.traceID)
        #expect(Self.string(set, "stash.namespace") == "app/users")
    }

    @Test(arguments: StoreConformance<TracingStore>.Check.allCases)
    func aTracedStoreConforms(_ check: StoreConformance<TracingStore>.Check) async throws {
        let clock = ManualClock()
        let tracer = InMemoryTracer()
        try await StoreConformance<TracingStore>(clock: clock) {
            TracingStore(try MemoryStore(clock: clock, configuration: .init(maximumValueSize: 1024 * 1024)), namespace: "", tracer: tracer)
        }.run(check)
    }

    @Test func aTracedStoreKeepsTheContract() async throws {
        let tracer = InMemoryTracer()
        let store = TracingStore(MemoryStore(), namespace: "", tracer: tracer)
        try await store.set("k", value: ByteBuffer(string: "v"), expiresIn: nil)
        #expect(try await store.get("k") == ByteBuffer(string: "v"))
        #expect(try await store.increment("n", by: 3, initialValue: 1, expiresIn: nil) == 4)
        var keys: [String] = []
        for try await key in store.keys() { keys.append(key) }
        #expect(keys.sorted() == ["k", "n"])
        #expect(store.maximumValueSize == MemoryStore().maximumValueSize)
    }
}
