import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Stash
import StashRedis
import StashTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The real `stash-demo` binary over a loopback socket, on each framework it serves on: the same behaviour on both.
@Suite struct DemoServerTests {
    /// The frameworks `--framework` takes.
    static let frameworks = ["hummingbird", "vapor"]

    /// Starts the demo on a free loopback port, runs `body` with a client, then stops the demo with SIGTERM and checks
    /// that it shut down cleanly.
    static func withDemo(
        _ framework: String,
        _ arguments: [String],
        _ body: @escaping @Sendable (TestClient) async throws -> Void
    ) async throws {
        let demo = try ChildProcess.demo(["--framework", framework, "--host", "127.0.0.1", "--port", "0"] + arguments)
        defer { demo.forceStop() }
        let port = try #require(try await demo.waitForPort(), "the demo did not start: \(demo.errorOutput)")
        try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
            // Ready once /health answers; the port line is printed when the socket is bound, so this is quick.
            let deadline = ContinuousClock.now + .seconds(30)
            while try await client.get("/health").status != .ok {
                guard ContinuousClock.now < deadline else { throw CancellationError() }
                try await Task.sleep(for: .milliseconds(50))
            }
            try await body(client)
        }
        demo.send(SIGTERM)
        #expect(try await demo.waitForExit() == 0, "a clean exit on SIGTERM: \(demo.errorOutput)")
    }

    @Test(arguments: Self.frameworks)
    func healthHelloAndTheRateLimitOverASocket(framework: String) async throws {
        try await Self.withDemo(framework, ["--rate-limit", "3/hour"]) { client in
            let health = try await client.get("/health")
            #expect(health.status == .ok && health.body.map { String(buffer: $0) } == "ok")
            let hello = try await client.get("/hello")
            #expect(hello.status == .ok)
            #expect(hello.body?.readableBytes == 1024)
            #expect(hello.headers[.init("RateLimit")!] == nil, "the baseline has no middleware")
            // The demo's fixed windows are aligned to the wall clock: the four requests must fall in one of them.
            let intoWindow = Date().timeIntervalSince1970.truncatingRemainder(dividingBy: 3600)
            if intoWindow > 3540 { try await Task.sleep(for: .seconds(3601 - intoWindow)) }
            for _ in 0..<3 {
                let admitted = try await client.get("/limited")
                #expect(admitted.status == .ok)
                #expect(admitted.headers[.init("RateLimit-Policy")!] == "\"limited\";q=3;w=3600")
            }
            let refused = try await client.get("/limited")
            #expect(refused.status == .tooManyRequests)
            let retryAfter = try #require(refused.headers[.retryAfter].flatMap { Int($0) })
            #expect(retryAfter >= 1 && retryAfter <= 3600)
            #expect(try await client.get("/hello").status == .ok, "the limit is /limited's alone")
        }
    }

    @Test(arguments: Self.frameworks)
    func cachedRunsItsHandlerOnceAndSaysSo(framework: String) async throws {
        try await Self.withDemo(framework, ["--cache-ttl", "300"]) { client in
            let miss = try await client.get("/cached")
            #expect(miss.status == .ok)
            #expect(miss.headers[.init("Cache-Status")!]?.contains("stored") == true, "\(miss.headers)")
            let hit = try await client.get("/cached")
            #expect(hit.status == .ok)
            #expect(hit.headers[.init("Cache-Status")!]?.hasPrefix("Stash; hit") == true, "\(hit.headers)")
            #expect(hit.headers[.age] != nil)
            #expect(hit.body == miss.body, "replayed byte for byte")
            let body = try #require(hit.body.map { String(buffer: $0) })
            #expect(body.utf8.count == 1024)
            #expect(body.hasPrefix("Cached by stash-demo; the handler has run 1 time."), "\(body.prefix(80))")
        }
    }

    @Test(arguments: Self.frameworks)
    func headOnCachedAnswersWithTheGetsHeadersAndNoBody(framework: String) async throws {
        try await Self.withDemo(framework, ["--cache-ttl", "300"]) { client in
            let first = try await client.head("/cached")
            #expect(first.status == .ok, "a miss runs the GET's handler")
            #expect(first.headers[.contentLength] == "1024" && (first.body?.readableBytes ?? 0) == 0, "\(first.headers)")
            _ = try await client.get("/cached")
            let hit = try await client.head("/cached")
            #expect(hit.status == .ok)
            #expect(hit.headers[.init("Cache-Status")!]?.hasPrefix("Stash; hit") == true, "\(hit.headers)")
            #expect(hit.headers[.contentLength] == "1024", "the GET's length: \(hit.headers)")
            #expect(hit.headers[.contentType] == "text/plain; charset=utf-8")
            #expect((hit.body?.readableBytes ?? 0) == 0)
        }
    }

    @Test func helpListsEveryRouteAndTheFrameworks() async throws {
        let demo = try ChildProcess.demo(["--help"])
        defer { demo.forceStop() }
        #expect(try await demo.waitForExit() == 0)
        let help = demo.output.replacingOccurrences(of: "\n", with: " ").split(separator: " ").joined(separator: " ")
        for route in ["GET /health", "GET /hello", "GET /cached", "GET /session", "POST /login", "POST /logout", "GET /whoami", "GET /limited"] {
            #expect(help.contains(route), "\(route) in: \(help)")
        }
        #expect(help.contains("--framework"), "\(help)")
    }

    @Test(arguments: Self.frameworks)
    func sessionsCountVisitsLogInRegenerateAndLogOut(framework: String) async throws {
        try await Self.withDemo(framework, []) { client in
            #expect(try await client.get("/whoami").status == .unauthorized)
            let first = try await client.get("/session")
            #expect(first.body.map { String(buffer: $0) } == "visits: 1\n")
            let cookie = try #require(Self.sessionCookie(first), "the first visit sets the cookie")
            let second = try await client.get("/session", headers: [.cookie: cookie])
            #expect(second.body.map { String(buffer: $0) } == "visits: 2\n")

            let login = try await client.post("/login?user=ada", headers: [.cookie: cookie], body: ByteBuffer())
            #expect(login.status == .ok)
            let loggedIn = try #require(Self.sessionCookie(login), "logging in issues a new id")
            #expect(loggedIn != cookie)
            #expect(try await client.get("/whoami", headers: [.cookie: cookie]).status == .unauthorized, "the old id is gone")
            let whoami = try await client.get("/whoami", headers: [.cookie: loggedIn])
            #expect(whoami.body.map { String(buffer: $0) } == "ada\n")
            let visits = try await client.get("/session", headers: [.cookie: loggedIn])
            #expect(visits.body.map { String(buffer: $0) } == "visits: 3\n", "the data moved to the new id")

            let logout = try await client.post("/logout", headers: [.cookie: loggedIn], body: ByteBuffer())
            #expect(logout.headers[.setCookie]?.contains("Max-Age=0") == true)
            #expect(try await client.get("/whoami", headers: [.cookie: loggedIn]).status == .unauthorized)
            let forged = "session=" + String(repeating: "A", count: 43)
            let fresh = try await client.get("/session", headers: [.cookie: forged])
            #expect(fresh.body.map { String(buffer: $0) } == "visits: 1\n")
            #expect(Self.sessionCookie(fresh).map { $0 != forged } == true, "a forged id is replaced, never adopted")
        }
    }

    @Test(arguments: Self.frameworks)
    func whoamiIsBehindTheCacheYetNeverServedToAnotherClient(framework: String) async throws {
        try await Self.withDemo(framework, ["--cache-ttl", "300"]) { client in
            let alice = try #require(Self.sessionCookie(try await client.post("/login?user=alice", body: ByteBuffer())))
            let bob = try #require(Self.sessionCookie(try await client.post("/login?user=bob", body: ByteBuffer())))
            let asAlice = try await client.get("/whoami", headers: [.cookie: alice])
            #expect(asAlice.body.map { String(buffer: $0) } == "alice\n")
            #expect(asAlice.headers[.init("Cache-Status")!] == "Stash; fwd=uri-miss; detail=session", "\(asAlice.headers)")
            #expect(asAlice.headers[.cacheControl] == "private" && asAlice.headers[.vary] == "Cookie", "\(asAlice.headers)")
            #expect(try await client.get("/whoami").status == .unauthorized, "no session: not alice's page from the cache")
            let asBob = try await client.get("/whoami", headers: [.cookie: bob])
            #expect(asBob.body.map { String(buffer: $0) } == "bob\n", "another session: not alice's page from the cache")
        }
    }

    /// The `name=value` pair of a response's session cookie.
    static func sessionCookie(_ response: TestClient.Response) -> String? {
        guard let setCookie = response.headers[.setCookie], setCookie.hasPrefix("session=") else { return nil }
        return setCookie.split(separator: ";").first.map(String.init)
    }

    @Test(arguments: Self.frameworks)
    func aFileStoreKeepsTheLimitAcrossARestart(framework: String) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stash-demo-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let arguments = ["--store", "file:\(directory)", "--rate-limit", "2/hour"]
        try await Self.withDemo(framework, arguments) { client in
            let first = try await client.get("/limited")
            let second = try await client.get("/limited")
            #expect(first.status == .ok && second.status == .ok)
        }
        try await Self.withDemo(framework, arguments) { client in
            let response = try await client.get("/limited")
            #expect(response.status == .tooManyRequests, "the count lives in the store, not the process")
        }
    }

    /// Sessions moved to a directory of their own by `--feature-store`, the rest in memory: a restart keeps the login
    /// and forgets the limit.
    @Test(arguments: Self.frameworks)
    func aFeatureStoreKeepsSessionsOnDiskWhileTheRestIsInMemory(framework: String) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stash-demo-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let arguments = ["--feature-store", "sessions=file:\(directory)", "--rate-limit", "1/hour"]
        let cookie = Locked<String?>(nil)
        try await Self.withDemo(framework, arguments) { client in
            let login = try await client.post("/login?user=ada", body: ByteBuffer())
            cookie.withLock { $0 = Self.sessionCookie(login) }
            #expect(try await client.get("/limited").status == .ok)
            #expect(try await client.get("/limited").status == .tooManyRequests)
        }
        let loggedIn = try #require(cookie.withLock { $0 })
        try await Self.withDemo(framework, arguments) { client in
            let whoami = try await client.get("/whoami", headers: [.cookie: loggedIn])
            #expect(whoami.body.map { String(buffer: $0) } == "ada\n", "the session was in the directory")
            #expect(try await client.get("/limited").status == .ok, "the limit was in memory")
        }
        #expect(try await FileStore(directory: directory).withNamespace("sessions").keys().collect().count == 1, "the session")

        let bad = try ChildProcess.demo(["--framework", framework, "--port", "0", "--feature-store", "sessions=mongodb://db"])
        defer { bad.forceStop() }
        let status = try #require(try await bad.waitForExit(), "the demo did not stop")
        #expect(status != 0)
        #expect(bad.errorOutput.contains("sessions") && bad.errorOutput.contains("mongodb://db"), "\(bad.errorOutput)")
    }

    @Test(arguments: Self.frameworks)
    func persistKeepsALoginAcrossARestart(framework: String) async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("stash-demo-\(UUID().uuidString).snapshot").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let cookie = Locked<String?>(nil)
        try await Self.withDemo(framework, ["--persist", path]) { client in
            let login = try await client.post("/login?user=ada", body: ByteBuffer())
            cookie.withLock { $0 = Self.sessionCookie(login) }
        }
        let loggedIn = try #require(cookie.withLock { $0 })
        #expect(FileManager.default.fileExists(atPath: path), "saved at the graceful stop")
        try await Self.withDemo(framework, ["--persist", path]) { client in
            let whoami = try await client.get("/whoami", headers: [.cookie: loggedIn])
            #expect(whoami.status == .ok && whoami.body.map { String(buffer: $0) } == "ada\n", "the session survived the restart")
        }
    }

    @Test(arguments: Self.frameworks)
    func aDamagedPersistFileStopsTheDemoWithAClearError(framework: String) async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("stash-demo-\(UUID().uuidString).snapshot").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data("not a Stash snapshot".utf8).write(to: URL(fileURLWithPath: path))
        let demo = try ChildProcess.demo(["--framework", framework, "--port", "0", "--persist", path])
        defer { demo.forceStop() }
        let status = try #require(try await demo.waitForExit(), "the demo did not stop")
        #expect(status != 0)
        #expect(demo.errorOutput.contains("corruptSnapshot") && demo.errorOutput.contains(path), "\(demo.errorOutput)")
        #expect(!demo.output.contains("listening"), "it never served: \(demo.output)")
        #expect(ChildProcess.contents(of: path) == "not a Stash snapshot", "the file is left as it was")
    }

    // One framework after the other: both count the same client in the same Redis namespace.
    @Test(.serialized, arguments: Self.frameworks)
    func twoDemosOnOneRedisShareTheLimit(framework: String) async throws {
        let url = try #require(ProcessInfo.processInfo.environment["STASH_REDIS_URL"], "run the tests through scripts/test.sh")
        // The demo's limiter keeps its counts in the root store's `rate_limit` namespace: start from none.
        try await RedisStore(url: url).withNamespace("rate_limit").deleteAll()
        let arguments = ["--store", url, "--rate-limit", "3/hour"]
        try await Self.withDemo(framework, arguments) { first in
            try await Self.withDemo(framework, arguments) { second in
                let statuses = [
                    try await first.get("/limited").status, try await second.get("/limited").status,
                    try await first.get("/limited").status, try await second.get("/limited").status,
                ]
                #expect(statuses == [.ok, .ok, .ok, .tooManyRequests], "one limit across both processes")
            }
        }
    }

    // One framework after the other: both store /cached in the same Redis namespace.
    @Test(.serialized, arguments: Self.frameworks)
    func withANearCacheTheDemoServesAndSeesAnotherClientsWrites(framework: String) async throws {
        let url = try #require(ProcessInfo.processInfo.environment["STASH_REDIS_URL"], "run the tests through scripts/test.sh")
        try await Self.withDemo(framework, ["--store", url, "--near-cache", "--cache-ttl", "300"]) { client in
            let login = try await client.post("/login?user=ada", body: ByteBuffer())
            let cookie = try #require(Self.sessionCookie(login))
            #expect(try await client.get("/whoami", headers: [.cookie: cookie]).body.map { String(buffer: $0) } == "ada\n")
            _ = try await client.get("/cached")
            let hit = try await client.get("/cached")
            #expect(hit.headers[.init("Cache-Status")!]?.hasPrefix("Stash; hit") == true, "\(hit.headers)")
            // Another client empties the cache's namespace: the demo's near cache hears of it and stores anew.
            try await RedisStore(url: url).withNamespace("response_cache").deleteAll()
            let deadline = ContinuousClock.now + .seconds(5)
            while try await client.get("/cached").headers[.init("Cache-Status")!]?.contains("stored") != true {
                try #require(ContinuousClock.now < deadline, "the demo kept serving the deleted entry")
            }
        }
    }

    @Test func twoDemosOnTheClusterShareSessionsCacheEntriesAndOneLimit() async throws {
        let url = try #require(ProcessInfo.processInfo.environment["STASH_REDIS_CLUSTER_URL"], "run the tests through scripts/test.sh")
        // The demo's middleware keep their data in the root store's `rate_limit`, `response_cache` and `sessions`
        // namespaces: start from none (the sessions' ids are new anyway).
        let root = try RedisStore(url: url)
        for namespace in ["rate_limit", "response_cache"] { try await root.withNamespace(namespace).deleteAll() }
        let arguments = ["--store", url, "--rate-limit", "3/hour", "--cache-ttl", "300"]
        // One on each framework: what one writes, the other reads.
        try await Self.withDemo("hummingbird", arguments) { first in
            try await Self.withDemo("vapor", arguments) { second in
                let login = try await first.post("/login?user=ada", body: ByteBuffer())
                let cookie = try #require(Self.sessionCookie(login), "logging in sets the cookie")
                let whoami = try await second.get("/whoami", headers: [.cookie: cookie])
                #expect(whoami.body.map { String(buffer: $0) } == "ada\n", "the session the first wrote, read by the second")
                let visit = try await second.get("/session", headers: [.cookie: cookie])
                #expect(visit.body.map { String(buffer: $0) } == "visits: 1\n")
                let again = try await first.get("/session", headers: [.cookie: cookie])
                #expect(again.body.map { String(buffer: $0) } == "visits: 2\n", "the visit the second saved, seen by the first")

                let miss = try await first.get("/cached")
                #expect(miss.headers[.init("Cache-Status")!]?.contains("stored") == true, "\(miss.headers)")
                let hit = try await second.get("/cached")
                #expect(hit.headers[.init("Cache-Status")!]?.hasPrefix("Stash; hit") == true, "\(hit.headers)")
                #expect(hit.body == miss.body, "the entry the first stored, served by the second byte for byte")

                let statuses = [
                    try await first.get("/limited").status, try await second.get("/limited").status,
                    try await first.get("/limited").status, try await second.get("/limited").status,
                ]
                #expect(statuses == [.ok, .ok, .ok, .tooManyRequests], "one limit across both processes")
            }
        }
    }

    @Test(arguments: [
        ["--rate-limit", "10/fortnight"],
        ["--rate-limit", "-1/minute"],
        ["--rate-limit", "0/minute"],
        ["--rate-limit", "10 /minute"],
        ["--rate-limit", "10/minute/"],
        ["--rate-limit", "ten/minute"],
        ["--store", "mongodb://localhost"],
        ["--store", "file:"],
        ["--near-cache"],
        ["--near-cache", "--store", "file:/tmp/stash-files"],
        ["--store", "redis://localhost:notaport"],
        ["--port", "70000"],
        ["--cache-ttl", "0"],
        ["--no-such-option"],
        ["--framework", "express"],
        ["--persist", "/tmp/stash.snapshot", "--store", "file:/tmp/stash-files"],
    ])
    func badOptionsExitNonZeroWithUsage(arguments: [String]) async throws {
        let demo = try ChildProcess.demo(arguments)
        defer { demo.forceStop() }
        let status = try #require(try await demo.waitForExit(), "\(arguments) did not exit")
        #expect(status != 0, "\(arguments)")
        #expect(demo.errorOutput.contains("Usage: stash-demo"), "\(arguments): \(demo.errorOutput)")
        #expect(demo.output.isEmpty, "\(arguments): nothing on standard output")
    }
}
