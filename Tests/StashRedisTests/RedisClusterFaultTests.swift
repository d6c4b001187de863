import Foundation
import NIOCore
import Stash
import StashRedis
import StashTestSupport
import StashTesting
import Synchronization
import Testing

/// A cluster of the test's own under load while a primary is killed, or slots move between primaries.
@Suite(.serialized) struct RedisClusterFaultTests {
    /// What 64 tasks saw while writing their own keys in a loop: for each task the last value acknowledged, and the
    /// count of increments acknowledged; the errors by code; the longest operation.
    final class Load: Sendable {
        struct State {
            var acknowledged: [Int: Int] = [:]
            var attempted: [Int: Int] = [:]
            var increments: [Int: Int] = [:]
            var errors: [String: Int] = [:]
            var untyped: [String] = []
            var longest: Duration = .zero
            var operations = 0
        }

        let state = Locked(State())

        /// Runs the load until `stop` is set; each task alternates a `set` of its key to the next number and an
        /// `increment` of its counter, and records what was acknowledged.
        func run(_ store: RedisStore, tasks: Int, stop: Flag) async {
            await withTaskGroup(of: Void.self) { group in
                for task in 0..<tasks {
                    group.addTask {
                        var value = 0
                        while !stop.value.load(ordering: .relaxed) {
                            value += 1
                            let started = ContinuousClock.now
                            var acknowledged = false
                            if value % 2 == 1 { self.state.withLock { $0.attempted[task] = value } }
                            do {
                                if value % 2 == 1 {
                                    try await store.set("v\(task)", value: ByteBuffer(string: String(value)), expiresIn: .seconds(300))
                                } else {
                                    _ = try await store.increment("c\(task)", by: 1, expiresIn: .seconds(300))
                                }
                                acknowledged = true
                            } catch let error as StoreError {
                                self.state.withLock { $0.errors[error.code.description, default: 0] += 1 }
                                if ![StoreError.Code.unavailable, .timedOut].contains(error.code) {
                                    self.state.withLock { $0.untyped.append("\(error)") }
                                }
                            } catch {
                                self.state.withLock { $0.untyped.append("\(type(of: error)): \(error)") }
                            }
                            let elapsed = ContinuousClock.now - started
                            self.state.withLock { state in
                                state.operations += 1
                                state.longest = max(state.longest, elapsed)
                                if acknowledged {
                                    if value % 2 == 1 { state.acknowledged[task] = value } else { state.increments[task, default: 0] += 1 }
                                }
                            }
                            // Paced: the point is 64 tasks in flight through the fault, not the most operations.
                            try? await Task.sleep(for: .milliseconds(5))
                        }
                    }
                }
            }
        }
    }

    /// Set to end a load.
    final class Flag: Sendable {
        let value = Atomic<Bool>(false)
    }

    static func store(_ cluster: RedisTestCluster) throws -> RedisStore {
        var configuration = try RedisConfiguration(url: cluster.url)
        configuration.commandTimeout = .seconds(10)
        configuration.connectTimeout = .seconds(1)
        configuration.maximumReconnectDelay = .milliseconds(200)
        return try RedisStore(configuration: configuration).withNamespace("faults")
    }

    @Test func killingAPrimaryUnderLoadGivesTypedErrorsUntilItsReplicaServes() async throws {
        try await ServerFaultGate.shared.run { try await self.killingAPrimary() }
    }

    private func killingAPrimary() async throws {
        let cluster = try await RedisTestCluster.start()
        defer { cluster.stop() }
        let store = try Self.store(cluster)
        let load = Load()
        let stop = Flag()
        let victim = try #require(try await cluster.primaryPorts().first)
        let running = Task { await load.run(store, tasks: 64, stop: stop) }
        try await Task.sleep(for: .seconds(1))
        let killedAt = ContinuousClock.now
        cluster.server(port: victim)?.kill()
        // Load for as long as the cluster takes to promote a replica, then some.
        try await cluster.waitForThreePrimaries(excluding: [victim])
        let healed = ContinuousClock.now - killedAt
        try await Task.sleep(for: .seconds(2))
        stop.value.store(true, ordering: .relaxed)
        await running.value

        // After the failover, every key is served again, those of the dead primary's slots by its replica.
        for task in 0..<64 {
            try await store.set("after\(task)", value: ByteBuffer(string: "ok"), expiresIn: .seconds(60))
            #expect(try await store.get("after\(task)") == ByteBuffer(string: "ok"))
        }
        let state = load.state.withLock { $0 }
        #expect(state.untyped.isEmpty, "only unavailable and timedOut: \(state.untyped.prefix(3))")
        #expect(state.longest < .seconds(11), "no operation waits past its timeout: \(state.longest)")
        print(
            "cluster failover: healthy again \(healed) after the kill; \(state.operations) operations, errors \(state.errors), "
                + "longest operation \(state.longest)"
        )
        try await store.deleteAll()
    }

    @Test func movingSlotsUnderLoadLosesNoAcknowledgedWrite() async throws {
        try await ServerFaultGate.shared.run { try await self.movingSlots() }
    }

    private func movingSlots() async throws {
        let cluster = try await RedisTestCluster.start()
        defer { cluster.stop() }
        let store = try Self.store(cluster)
        let load = Load()
        let stop = Flag()
        let primaries = try await cluster.primaryPorts()
        let from = try await RedisTestServer.cli(["CLUSTER", "MYID"], port: primaries[0])
        let to = try await RedisTestServer.cli(["CLUSTER", "MYID"], port: primaries[1])
        let running = Task { await load.run(store, tasks: 64, stop: stop) }
        try await Task.sleep(for: .milliseconds(500))
        let moved = try await RedisTestCluster.cliWithoutServer([
            "--cluster", "reshard", "127.0.0.1:\(primaries[0])", "--cluster-from", from, "--cluster-to", to,
            "--cluster-slots", "2000", "--cluster-yes", "--cluster-pipeline", "10",
        ])
        try await Task.sleep(for: .milliseconds(500))
        stop.value.store(true, ordering: .relaxed)
        await running.value
        #expect(!moved.contains("ERR"), "redis-cli --cluster reshard: \(moved.suffix(400))")

        let state = load.state.withLock { $0 }
        #expect(state.untyped.isEmpty, "only typed errors: \(state.untyped.prefix(3))")
        for task in 0..<64 {
            let value = try await store.get("v\(task)").map { Int(String(buffer: $0)) ?? -1 } ?? 0
            // The last set acknowledged, or a later one whose reply was lost (a typed error) but which happened.
            let acknowledged = state.acknowledged[task, default: 0]
            #expect(value >= acknowledged && value <= state.attempted[task, default: 0], "task \(task): \(value), acknowledged \(acknowledged)")
            let count = try await store.get("c\(task)").map { Int(String(buffer: $0)) ?? -1 } ?? 0
            // An increment whose reply was lost (a typed error) may have happened: never fewer than acknowledged.
            #expect(count >= state.increments[task, default: 0], "task \(task): no acknowledged increment is lost")
        }
        print("cluster resharding of 2000 slots: \(state.operations) operations, errors \(state.errors), longest \(state.longest)")
        try await store.deleteAll()
    }
}
