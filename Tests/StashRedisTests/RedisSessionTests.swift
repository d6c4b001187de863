import HTTPTypes
import NIOCore
import Stash
import StashMiddleware
import StashTestSupport
import Testing

@testable import StashRedis

/// Sessions on Redis under the load of a browser firing parallel requests: one session, many requests at once.
@Suite struct RedisSessionTests {
    /// The number of calls of each command since the last `CONFIG RESETSTAT`, from `INFO commandstats`.
    static func commandCalls(port: Int) async throws -> [String: Int] {
        var calls: [String: Int] = [:]
        for line in try await RedisTestServer.cli(["info", "commandstats"], port: port).split(whereSeparator: \.isNewline) {
            // cmdstat_hgetall:calls=64,usec=…
            guard line.hasPrefix("cmdstat_"), let colon = line.firstIndex(of: ":") else { continue }
            let name = String(line[line.index(line.startIndex, offsetBy: 8)..<colon])
            let stats = line[line.index(after: colon)...].split(separator: ",")
            if let count = stats.first(where: { $0.hasPrefix("calls=") }).flatMap({ Int($0.dropFirst(6)) }) {
                calls[name] = count
            }
        }
        return calls
    }

    @Test func sixtyFourConcurrentRequestsOfOneSessionCostTwoRoundTripsEachAndLoseNoChange() async throws {
        let server = try RedisServerProcess()
        try await server.start()
        defer { server.kill() }
        let store = try RedisStore(url: server.url).withNamespace("sessions")
        let middleware = SessionMiddleware(store: store)
        let id = try await SessionTraffic.start(middleware)
        // The scripts are loaded once the first merge runs; count what follows.
        _ = try await SessionTraffic.send(middleware, id: id, key: "warm", value: 0)
        _ = try await RedisTestServer.cli(["config", "resetstat"], port: server.port)

        try await SessionTraffic.setKeysConcurrently(middleware, id: id)

        let calls = try await Self.commandCalls(port: server.port)
        #expect(calls["hgetall"] == 64, "one round trip to load per request: \(calls)")
        #expect(calls["evalsha"] == 64 && calls["eval"] == nil, "one round trip to save per request: \(calls)")
        // What the merge script runs inside (EXISTS, HSET, HLEN); not the handshakes of connections the pool opened, nor
        // the reset of the statistics.
        let setUp: Set<String> = ["hello", "auth", "select", "client|setinfo", "client|setname", "ping", "config|resetstat"]
        let scripted = calls.filter { !["hgetall", "evalsha"].contains($0.key) && !setUp.contains($0.key) }
        #expect(scripted.values.reduce(0, +) <= 3 * 64, "the script runs three commands per save, never a retry: \(calls)")

        let fields = try #require(try await store.record(SessionID.storeKey(of: id), renewingFor: nil))
        let missing = (0..<64).filter { fields["key\($0)"] != ByteBuffer(string: "\($0)") }
        #expect(missing.isEmpty, "lost keys \(missing)")
        #expect(fields["start"] == ByteBuffer(string: "0"))
    }
}
