import HTTPTypes
import InMemoryTracing
import NIOCore
import Stash
import StashTestSupport
import StashTesting
import Synchronization
import Testing
import Tracing

@testable import StashMiddleware

/// What a finished span says, in forms a test compares.
extension FinishedInMemorySpan {
    func string(_ key: String) -> String? {
        if case .string(let value) = self.attributes.get(key) { return value }
        return nil
    }

    func strings(_ key: String) -> [String]? {
        if case .stringArray(let values) = self.attributes.get(key) { return values }
        return nil
    }

    /// Every attribute and recorded error as text: what a test searches for something that must never be traced.
    var recordedText: String {
        var text = self.operationName
        // swift-format-ignore: ReplaceForEachWithForLoop
        // SpanAttributes is not a sequence: forEach is its own method.
        self.attributes.forEach { key, value in text += " \(key)=\(value)" }
        for error in self.errors {
            text += " \(error.error)"
            // swift-format-ignore: ReplaceForEachWithForLoop
            // SpanAttributes is not a sequence: forEach is its own method.
            error.attributes.forEach { key, value in text += " \(key)=\(value)" }
        }
        return text
    }
}

@Suite struct MiddlewareTracingTests {
    /// The spans a tracer finished, oldest first, named `name`.
    static func spans(_ tracer: InMemoryTracer, named name: String) -> [FinishedInMemorySpan] {
        tracer.finishedSpans.filter { $0.operationName == name }
    }

    /// A handler that runs in a span of its own, as an application's traced handler would.
    static func tracedHandler(_ tracer: InMemoryTracer, _ response: @escaping @Sendable () -> StashResponse) -> StashHandler {
        { _ in
            let span = tracer.startSpan("handler")
            defer { span.end() }
            return response()
        }
    }

    @Test func withoutATracerNothingIsWrappedOrRecorded() throws {
        // This process never bootstraps a tracer: InstrumentationSystem's is the no-op one.
        let store = MemoryStore()
        let cache = ResponseCache(store: store)
        let sessions = SessionMiddleware(store: store)
        let limiter = try RateLimiter(
            store: store,
            configuration: .init(policies: [RateLimitPolicy(rule: RateLimitRule(limit: 1, per: .seconds(60)))], identity: .clientAddress())
        )
        #expect(cache.tracing.tracer == nil && sessions.tracing.tracer == nil && limiter.tracing.tracer == nil)
        #expect(!(cache.store is TracingStore) && !(sessions.store is TracingStore) && !(limiter.store is TracingStore))
        #expect(StashTracing.tracer(nil) == nil)
    }

    @Test func theCacheSaysEachOutcomeOnItsSpanAndItsStoreOperationsAreItsChildren() async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let tracer = InMemoryTracer()
            let cache = CacheTest.cache(store) { $0.tracer = tracer }
            let handler = Self.tracedHandler(tracer) { StashResponse(status: .ok, headerFields: [.contentType: "text/plain"], body: "secret-body") }
            let path = "/account?token=hunter2"

            // Inside a server span, as a framework's tracing middleware runs the request: the decision is its child.
            let server = tracer.startSpan("HTTP GET", ofKind: .server)
            _ = try await ServiceContext.withValue(server.context) {
                try await cache.respond(to: CacheTest.request(path), next: handler)
            }
            server.end()
            let miss = try #require(Self.spans(tracer, named: "stash.response_cache").last, "\(name)")
            #expect(miss.string("stash.cache.outcome") == "stored", "\(name)")
            #expect(miss.kind == .internal)
            #expect(miss.parentSpanID == Self.spans(tracer, named: "HTTP GET").last?.spanID, "\(name)")
            // The handler ran inside the decision, and so did every store operation.
            let children = tracer.finishedSpans.filter { $0.parentSpanID == miss.spanID }
            #expect(children.contains { $0.operationName == "handler" }, "\(name)")
            let operations = children.filter { $0.operationName != "handler" }
            #expect(operations.map(\.operationName).contains("get response_cache"), "\(name): \(operations.map(\.operationName))")
            for operation in operations {
                #expect(operation.kind == .client)
                #expect(operation.string("db.system.name") == store.traceSystemName, "\(name)")
                #expect(operation.string("stash.namespace") == "response_cache", "\(name)")
                #expect(operation.string("db.operation.name") != nil, "\(name)")
            }

            tracer.clearAll()
            _ = try await cache.respond(to: CacheTest.request(path), next: handler)
            let hit = try #require(Self.spans(tracer, named: "stash.response_cache").last)
            #expect(hit.string("stash.cache.outcome") == "hit", "\(name)")
            #expect(!tracer.finishedSpans.contains { $0.operationName == "handler" }, "\(name): a hit runs no handler")

            tracer.clearAll()
            _ = try await cache.respond(to: CacheTest.request(path, method: .post), next: handler)
            let post = try #require(Self.spans(tracer, named: "stash.response_cache").last)
            #expect(post.string("stash.cache.outcome") == "bypass", "\(name)")
            #expect(post.string("stash.cache.invalidated") == "true", "\(name)")

            for span in tracer.finishedSpans {
                #expect(!span.recordedText.contains("hunter2") && !span.recordedText.contains("/account"), "\(name): \(span.recordedText)")
                #expect(!span.recordedText.contains("secret-body"), "\(name)")
            }
        }
    }

    @Test func aStoreThatFailsIsRecordedOnTheCachesSpanByItsCodeAlone() async throws {
        let counts = CountingStore.Counts()
        counts.isFailing.store(true, ordering: .relaxed)
        let tracer = InMemoryTracer()
        let cache = CacheTest.cache(CountingStore(MemoryStore(), counts: counts)) { $0.tracer = tracer }
        let response = try await cache.respond(to: CacheTest.request("/private/alice"), next: CountingOrigin().handler)
        #expect(response.head.status == .ok, "a store that fails never fails the request")

        let span = try #require(Self.spans(tracer, named: "stash.response_cache").last)
        #expect(span.string("stash.cache.outcome") == "miss")
        #expect(span.strings("stash.cache.error") == ["store"])
        #expect(span.errors.map { "\($0.error)" } == ["StoreError.unavailable"])
        #expect(span.status == nil, "the request succeeded: the decision span is not failed")
        // The store's own span failed, with its code.
        let get = try #require(tracer.finishedSpans.first { $0.operationName == "get response_cache" })
        #expect(get.status?.code == .error)
        #expect(get.string("error.type") == "unavailable")
        for span in tracer.finishedSpans {
            #expect(!span.recordedText.contains("alice") && !span.recordedText.contains("the test made the store fail"), "\(span.recordedText)")
        }
    }

    @Test func sessionsSayLoadedCreatedSavedAndRejectedWithoutTheirIds() async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let tracer = InMemoryTracer()
            var configuration = SessionMiddleware.Configuration()
            configuration.tracer = tracer
            let middleware = SessionMiddleware(store: store, configuration: configuration)

            // No cookie: nothing to load, so no load span; the first value creates the session.
            let created = try await SessionRequests.send(middleware) { session in try session.setValue("alice", forKey: "user") }
            let id = try SessionRequests.issuedID(created)
            #expect(Self.spans(tracer, named: "stash.session.load").isEmpty, "\(name)")
            let create = try #require(Self.spans(tracer, named: "stash.session.save").last, "\(name)")
            #expect(create.strings("stash.session.outcome") == ["created"], "\(name)")
            #expect(tracer.finishedSpans.contains { $0.parentSpanID == create.spanID && $0.operationName == "insert_record sessions" }, "\(name)")

            tracer.clearAll()
            _ = try await SessionRequests.send(middleware, id: id) { session in try session.setValue("bob", forKey: "user") }
            #expect(Self.spans(tracer, named: "stash.session.load").last?.strings("stash.session.outcome") == ["loaded"], "\(name)")
            #expect(Self.spans(tracer, named: "stash.session.save").last?.strings("stash.session.outcome") == ["saved"], "\(name)")

            tracer.clearAll()
            _ = try await SessionRequests.send(middleware, id: id)
            let unchanged = try #require(Self.spans(tracer, named: "stash.session.save").last, "\(name)")
            #expect(unchanged.strings("stash.session.outcome") == nil, "\(name): nothing was written")

            tracer.clearAll()
            let forged = String(repeating: "A", count: id.count)
            _ = try await SessionRequests.send(middleware, id: forged)
            #expect(Self.spans(tracer, named: "stash.session.load").last?.strings("stash.session.outcome") == ["rejected"], "\(name)")

            tracer.clearAll()
            _ = try await SessionRequests.send(middleware, id: id) { session in session.destroy() }
            #expect(Self.spans(tracer, named: "stash.session.save").last?.strings("stash.session.outcome") == ["destroyed"], "\(name)")

            for span in tracer.finishedSpans {
                let text = span.recordedText
                #expect(!text.contains(id) && !text.contains(SessionID.storeKey(of: id)) && !text.contains(forged), "\(name): \(text)")
            }
        }
    }

    @Test func theRateLimiterSaysAdmittedRefusedAndErrorAndTheHandlerRunsAfterItsSpan() async throws {
        for (name, store) in try TestStores.all() {
            try await store.deleteAll()
            let tracer = InMemoryTracer()
            var configuration = try RateLimiter.Configuration(
                policies: [RateLimitPolicy(name: "api", rule: RateLimitRule(limit: 1, per: .seconds(3600)))],
                identity: .clientAddress()
            )
            configuration.tracer = tracer
            let limiter = RateLimiter(store: store, configuration: configuration)
            let handler = Self.tracedHandler(tracer) { StashResponse(status: .ok, body: "ok") }
            let request = RateLimiterTests.request(peer: "198.51.100.77")

            _ = try await limiter.respond(to: request, next: handler)
            let admitted = try #require(Self.spans(tracer, named: "stash.rate_limit").last, "\(name)")
            #expect(admitted.string("stash.rate_limit.outcome") == "admitted", "\(name)")
            #expect(admitted.strings("stash.rate_limit.policies") == ["api"], "\(name)")
            #expect(admitted.strings("stash.rate_limit.refused_by") == nil, "\(name)")
            let handlerSpan = try #require(tracer.finishedSpans.first { $0.operationName == "handler" })
            #expect(handlerSpan.parentSpanID != admitted.spanID, "\(name): the handler is not part of the decision")
            let operation = try #require(tracer.finishedSpans.first { $0.parentSpanID == admitted.spanID }, "\(name)")
            #expect(operation.operationName == "rate_limit rate_limit" && operation.string("db.operation.name") == "rate_limit", "\(name)")

            tracer.clearAll()
            let refused = try await limiter.respond(to: request, next: handler)
            #expect(refused.head.status == .tooManyRequests, "\(name)")
            let span = try #require(Self.spans(tracer, named: "stash.rate_limit").last)
            #expect(span.string("stash.rate_limit.outcome") == "refused", "\(name)")
            #expect(span.strings("stash.rate_limit.refused_by") == ["api"], "\(name)")

            for span in tracer.finishedSpans {
                #expect(!span.recordedText.contains("198.51.100.77") && !span.recordedText.contains("api|"), "\(name): \(span.recordedText)")
            }
        }
    }

    @Test func aRateLimitStoreThatFailsIsAnErrorOutcomeWithItsCode() async throws {
        let counts = CountingStore.Counts()
        counts.isFailing.store(true, ordering: .relaxed)
        let tracer = InMemoryTracer()
        var configuration = try RateLimiter.Configuration(
            policies: [RateLimitPolicy(rule: RateLimitRule(limit: 1, per: .seconds(3600)))],
            identity: .clientAddress(),
            failureMode: .closed
        )
        configuration.tracer = tracer
        let limiter = RateLimiter(store: CountingStore(MemoryStore(), counts: counts), configuration: configuration)
        let response = try await limiter.respond(to: RateLimiterTests.request(peer: "203.0.113.9"), next: RateLimiterTests.ok)
        #expect(response.head.status == .serviceUnavailable)
        let span = try #require(Self.spans(tracer, named: "stash.rate_limit").last)
        #expect(span.string("stash.rate_limit.outcome") == "error")
        #expect(span.errors.map { "\($0.error)" } == ["StoreError.unavailable"])
        #expect(span.string("error.type") == "unavailable" && span.status?.code == .error)
        #expect(!span.recordedText.contains("203.0.113.9"))
    }
}
