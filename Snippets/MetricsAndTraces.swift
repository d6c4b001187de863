// What Stash says in traces: a tracer that prints each trace as a tree, bootstrapped before the middleware are made,
// then two requests through the rate limiter, the sessions and the response cache, each in a server span as a
// framework's tracing middleware would start it.

// snippet.hide
import HTTPTypes
import NIOCore
import Stash
import StashMiddleware
import Synchronization
import Tracing

/// A tracer that keeps each span's line and prints them all, in the order they started, indented under their parents:
/// enough to see what Stash traces. A real application bootstraps an exporter's tracer (swift-otel's, say) instead.
final class PrintingTracer: Tracer {
    private enum DepthKey: InstrumentationContextKey {
        typealias Value = Int
    }

    private let lines = Mutex<[(order: Int, line: String)]>([])
    private let started = Atomic<Int>(0)

    func startSpan<Instant: TracerInstant>(
        _ operationName: String,
        context: @autoclosure () -> InstrumentationContext,
        ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant,
        function: String,
        file fileID: String,
        line: UInt
    ) -> PrintedSpan {
        var context = context()
        let depth = (context[DepthKey.self] ?? -1) + 1
        context[DepthKey.self] = depth
        let order = self.started.add(1, ordering: .relaxed).newValue
        return PrintedSpan(operationName, kind: kind, context: context) { line in
            self.lines.withLock { $0.append((order, String(repeating: "  ", count: depth) + line)) }
        }
    }

    /// Prints the spans that ended, as trees, and forgets them.
    func printTrace() {
        let lines = self.lines.withLock { lines in
            defer { lines = [] }
            return lines.sorted { $0.order < $1.order }
        }
        for (_, line) in lines { print(line) }
        print()
    }

    func forceFlush() {}

    func extract<Carrier, Extract: Extractor>(_ carrier: Carrier, into context: inout InstrumentationContext, using extractor: Extract)
    where Extract.Carrier == Carrier {}

    func inject<Carrier, Inject: Injector>(_ context: InstrumentationContext, into carrier: inout Carrier, using injector: Inject)
    where Inject.Carrier == Carrier {}
}

/// A span of ``PrintingTracer``: its name, kind, attributes and errors, as one line when it ends.
final class PrintedSpan: Span {
    let context: InstrumentationContext
    private let kind: SpanKind
    private let state: Mutex<(name: String, attributes: SpanAttributes, errors: [String])>
    private let ended: @Sendable (String) -> Void

    init(_ name: String, kind: SpanKind, context: InstrumentationContext, ended: @escaping @Sendable (String) -> Void) {
        self.context = context
        self.kind = kind
        self.state = Mutex((name, [:], []))
        self.ended = ended
    }

    var operationName: String {
        get { self.state.withLock { $0.name } }
        set { self.state.withLock { $0.name = newValue } }
    }

    var attributes: SpanAttributes {
        get { self.state.withLock { $0.attributes } }
        set { self.state.withLock { $0.attributes = newValue } }
    }

    var isRecording: Bool { true }

    func setStatus(_ status: SpanStatus) {}

    func addEvent(_ event: SpanEvent) {}

    func addLink(_ link: SpanLink) {}

    func recordError<Instant: TracerInstant>(_ error: any Error, attributes: SpanAttributes, at instant: @autoclosure () -> Instant) {
        self.state.withLock { $0.errors.append("\(error)") }
    }

    func end<Instant: TracerInstant>(at instant: @autoclosure () -> Instant) {
        let (name, attributes, errors) = self.state.withLock { $0 }
        var fields: [String] = []
        // swift-format-ignore: ReplaceForEachWithForLoop
        // SpanAttributes is not a sequence: forEach is its own method.
        attributes.forEach { key, value in
            switch value {
            case .string(let text): fields.append("\(key)=\(text)")
            case .stringArray(let texts): fields.append("\(key)=[\(texts.joined(separator: ", "))]")
            case .bool(let flag): fields.append("\(key)=\(flag)")
            default: fields.append("\(key)=\(value)")
            }
        }
        let recorded = errors.map { "error: \($0)" }
        self.ended((["\(name) (\(self.kind))"] + fields.sorted() + recorded).joined(separator: " "))
    }
}

/// A request as an adapter would hand it over, from one client.
func request(_ path: String, cookie: String? = nil) -> StashRequest {
    var fields = HTTPFields()
    if let cookie { fields[.cookie] = cookie }
    return StashRequest(
        head: HTTPRequest(method: .get, scheme: "http", authority: "localhost", path: path, headerFields: fields),
        peerAddress: "192.0.2.10"
    )
}

// snippet.show
// snippet.bootstrap
let tracer = PrintingTracer()
InstrumentationSystem.bootstrap(tracer)  // once, at start: before the middleware are made

let root = MemoryStore()
let registry = StoreRegistry(defaultFactory: root.withNamespace)
let limiter = try RateLimiter(
    registry: registry,
    configuration: .init(policies: [RateLimitPolicy(name: "api", rule: RateLimitRule(limit: 100, per: .seconds(60)))], identity: .clientAddress())
)
let sessions = try SessionMiddleware(registry: registry)
let cache = try ResponseCache(registry: registry, configuration: .init(lifetime: .seconds(30)))
// snippet.end

// snippet.requests
let app = limiter.wrapping(
    sessions.wrapping(
        cache.wrapping { request in
            if request.head.path == "/visit" {
                let session = request.session!  // the session middleware is in front
                try session.setValue((try session.value(forKey: "visits", as: Int.self) ?? 0) + 1, forKey: "visits")
            }
            return StashResponse(status: .ok, body: "hello")
        }
    )
)

// Each request in a server span, as Hummingbird's or Vapor's tracing middleware starts one.
func serve(_ request: StashRequest) async throws -> StashResponse {
    try await withSpan("GET \(request.head.path ?? "")", ofKind: .server) { _ in try await app(request) }
}

_ = try await serve(request("/hello"))  // a miss: the cache stores the response
_ = try await serve(request("/hello"))  // a hit
let visit = try await serve(request("/visit"))  // a new session
let cookie = visit.head.headerFields[.setCookie]?.split(separator: ";").first.map(String.init)
_ = try await serve(request("/visit", cookie: cookie))  // the session loaded and saved
tracer.printTrace()
// snippet.end
