import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Stash
import StashRedis
import StashTestSupport
import Testing

@Suite struct RedisFaultTests {
    /// The outcome of one command while the server dies: it must come back, and be a success or a typed error.
    enum Outcome: Sendable {
        case success
        case storeError(StoreError.Code)
        case otherError(String)
    }

    @Test func aServerStoppedUnderLoadGivesTypedErrorsWithinTheTimeoutAndTheStoreRecovers() async throws {
        try await ServerFaultGate.shared.run { try await self.serverStoppedUnderLoad() }
    }

    private func serverStoppedUnderLoad() async throws {
        let server = try RedisServerProcess()
        try await server.start()
        var configuration = try RedisConfiguration(url: server.url)
        configuration.commandTimeout = .seconds(1)
        configuration.connectTimeout = .seconds(1)
        configuration.maximumReconnectDelay = .milliseconds(200)
        let store = try RedisStore(configuration: configuration)
        try await store.set("warm", value: ByteBuffer(string: "up"))

        let started = ContinuousClock.now
        let outcomes = try await withThrowingTaskGroup(of: (Outcome, Duration).self) { group in
            for index in 0..<100 {
                group.addTask {
                    // Spread over the moment of the kill.
                    try await Task.sleep(for: .milliseconds(index))
                    let begin = ContinuousClock.now
                    do {
                        try await store.set("key \(index)", value: ByteBuffer(string: "v"))
                        return (.success, ContinuousClock.now - begin)
                    } catch let error as StoreError {
                        return (.storeError(error.code), ContinuousClock.now - begin)
                    } catch {
                        return (.otherError("\(error)"), ContinuousClock.now - begin)
                    }
                }
            }
            try await Task.sleep(for: .milliseconds(50))
            server.kill()
            var outcomes: [(Outcome, Duration)] = []
            for try await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
        #expect(outcomes.count == 100, "every command came back")
        #expect(ContinuousClock.now - started < .seconds(10))
        for (outcome, duration) in outcomes {
            #expect(duration < .seconds(3), "each command ends within its timeout (1 s), took \(duration)")
            switch outcome {
            case .success: break
            case .storeError(let code):
                #expect([.unavailable, .timedOut].contains(code), "a dead server is unavailable or a timeout, got \(code)")
            case .otherError(let error):
                Issue.record("an untyped error: \(error)")
            }
        }
        #expect(outcomes.contains { if case .storeError = $0.0 { true } else { false } }, "the kill was felt")

        // The same store instance works again once the server is back, without being recreated.
        try await server.start()
        let deadline = ContinuousClock.now + .seconds(15)
        var recovered = false
        while !recovered, ContinuousClock.now < deadline {
            do {
                try await store.set("after", value: ByteBuffer(string: "restart"))
                recovered = true
            } catch {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        #expect(recovered, "the store reconnects by itself")
        #expect(try await store.get("after") == ByteBuffer(string: "restart"))
    }

    @Test func aServerThatIsDownFailsFastWithATypedError() async throws {
        let server = try RedisServerProcess()  // never started
        // Long timeouts: a refused connection must fail at once, not when a timeout fires (the bound is far below
        // them, and far above what a loaded machine needs).
        var configuration = try RedisConfiguration(url: server.url)
        configuration.connectTimeout = .seconds(60)
        configuration.commandTimeout = .seconds(60)
        let store = try RedisStore(configuration: configuration)
        for attempt in ["first, connecting", "second, while the pool backs off"] {
            let begin = ContinuousClock.now
            let error = await #expect(throws: StoreError.self) { try await store.get("k") }
            #expect(error?.code == .unavailable, "\(attempt)")
            #expect(ContinuousClock.now - begin < .seconds(30), "\(attempt): no waiting for a timeout")
        }
    }

    @Test func aSilentServerTimesOut() async throws {
        // A listening socket that never answers: connects, then nothing.
        let server = try RedisServerProcess()
        try await server.start()
        var configuration = try RedisConfiguration(url: server.url)
        configuration.commandTimeout = .milliseconds(300)
        let store = try RedisStore(configuration: configuration)
        // The first write may itself miss 300 ms on a loaded machine: it only has to land before the freeze.
        let writeDeadline = ContinuousClock.now + .seconds(30)
        var written = false
        while !written, ContinuousClock.now < writeDeadline {
            written = (try? await store.set("k", value: ByteBuffer(string: "v"))) != nil
        }
        try #require(written, "the store writes to the server before it freezes")
        // A frozen server keeps the connection open and answers nothing.
        server.pause()
        defer { server.resume() }
        let begin = ContinuousClock.now
        let error = await #expect(throws: StoreError.self) { try await store.get("k") }
        #expect(error?.code == .timedOut, "\(String(describing: error))")
        #expect(ContinuousClock.now - begin < .seconds(10), "the 300 ms timeout fires; it does not wait for the server")
    }

    @Test func gracefulShutdownAnswersCommandsInFlightThenRefusesNewOnes() async throws {
        try await ServerFaultGate.shared.run { try await self.gracefulShutdown() }
    }

    private func gracefulShutdown() async throws {
        let server = try RedisServerProcess()
        try await server.start()
        var configuration = try RedisConfiguration(url: server.url)
        configuration.connectionName = "stash-shutdown-test"
        configuration.minimumConnections = 1
        let store = try RedisStore(configuration: configuration)
        let group = ServiceGroup(configuration: .init(services: [store.service], logger: Logger(label: "test")))
        let running = Task { try await group.run() }
        try await store.set("k", value: ByteBuffer(string: "v"))
        #expect(try await RedisTestServer.cli(["CLIENT", "LIST"], port: server.port).contains("name=stash-shutdown-test"))

        // The server is frozen, so this command is still in flight when shutdown begins.
        server.pause()
        let inFlight = Task { try await store.get("k") }
        // Time for the task to send it, on a busy machine too (the command timeout is 5 s).
        try await Task.sleep(for: .seconds(1))
        await group.triggerGracefulShutdown()
        try await Task.sleep(for: .milliseconds(200))
        server.resume()
        try await running.value
        #expect(try await inFlight.value == ByteBuffer(string: "v"), "a command sent before shutdown gets its reply")
        let error = await #expect(throws: StoreError.self) { try await store.get("k") }
        #expect(error?.code == .unavailable)
        // The connection closes once its last reply is in.
        let deadline = ContinuousClock.now + .seconds(5)
        while try await RedisTestServer.cli(["CLIENT", "LIST"], port: server.port).contains("name=stash-shutdown-test"),
            ContinuousClock.now < deadline
        {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(try await !RedisTestServer.cli(["CLIENT", "LIST"], port: server.port).contains("name=stash-shutdown-test"))
    }
}
