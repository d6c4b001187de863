import NIOCore
import Stash
import Testing

@testable import StashRedis

/// The pool's decisions, event by event, without a server.
@Suite struct RedisPoolStateMachineTests {
    final class FakeConnection: RedisPooledConnection, CustomStringConvertible {
        let name: String
        var pendingCount = 0
        var isActive = true

        init(_ name: String) { self.name = name }
        var description: String { self.name }
    }

    typealias Machine = RedisPoolStateMachine<FakeConnection, String>

    static func machine(connections: Int = 2) -> Machine {
        Machine(maximumConnections: connections, firstDelay: .milliseconds(100), maximumDelay: .seconds(1), address: "redis.test:6379")
    }

    static let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    @Test func theFirstCommandsWaitForOneConnectionThenShareIt() {
        var pool = Self.machine()
        guard case .wait(open: nil) = pool.lease(nil, now: Self.start) else {
            Issue.record("without a waiter, nothing opens")
            return
        }
        guard case .wait(open: 0) = pool.lease("a", now: Self.start) else {
            Issue.record("the first waiter opens slot 0")
            return
        }
        guard case .wait(open: nil) = pool.lease("b", now: Self.start) else {
            Issue.record("the second waits for the same attempt")
            return
        }
        let connection = FakeConnection("c0")
        guard case .resume(let waiters, let resumed, retire: false) = pool.connected(slot: 0, connection) else {
            Issue.record("resumed")
            return
        }
        #expect(waiters == ["a", "b"] && resumed === connection)
        guard case .use(let used, open: nil) = pool.lease(nil, now: Self.start) else {
            Issue.record("an idle connection is used")
            return
        }
        #expect(used === connection)
    }

    @Test func aLimitKeepsCommandsOnTheFirstSlotsAndRetiresTheConnectionsPastIt() {
        var pool = Self.machine(connections: 4)
        #expect(pool.limit(to: 2).isEmpty, "nothing open yet")
        let connections = (0..<2).map { FakeConnection("c\($0)") }
        _ = pool.lease("a", now: Self.start)
        _ = pool.connected(slot: 0, connections[0])
        connections[0].pendingCount = 5
        guard case .use(_, open: 1) = pool.lease(nil, now: Self.start) else {
            Issue.record("busy: slot 1 opens")
            return
        }
        _ = pool.connected(slot: 1, connections[1])
        connections[1].pendingCount = 5
        guard case .use(let used, open: nil) = pool.lease(nil, now: Self.start) else {
            Issue.record("both busy, but no slot past the limit of 2 opens")
            return
        }
        #expect(used === connections[0])

        // Growing the limit lets a third open; shrinking it retires what is past it.
        #expect(pool.limit(to: 3).isEmpty)
        guard case .use(_, open: 2) = pool.lease(nil, now: Self.start) else {
            Issue.record("a larger limit lets slot 2 open")
            return
        }
        let third = FakeConnection("c2")
        #expect(pool.limit(to: 1).map(\.name) == ["c1"], "the open connection past the new limit is retired")
        guard case .resume(_, let late, retire: true) = pool.connected(slot: 2, third) else {
            Issue.record("an attempt that ends past the limit serves its waiters, then retires")
            return
        }
        #expect(late === third)
        connections[0].pendingCount = 9
        guard case .use(let only, open: nil) = pool.lease(nil, now: Self.start) else {
            Issue.record("only the first slot is used, however busy")
            return
        }
        #expect(only === connections[0])
        #expect(pool.limit(to: 0).map(\.name) == ["c1", "c2"], "a limit is at least one")
        #expect(pool.limit(to: 99).isEmpty, "and at most the slots there are")
        #expect(pool.limit == 4)
    }

    @Test func aBusyConnectionIsUsedWhileAnotherOpensForLaterCommands() {
        var pool = Self.machine()
        _ = pool.lease("a", now: Self.start)
        let first = FakeConnection("c0")
        _ = pool.connected(slot: 0, first)
        first.pendingCount = 3
        guard case .use(let used, open: 1) = pool.lease(nil, now: Self.start) else {
            Issue.record("busy: slot 1 opens")
            return
        }
        #expect(used === first, "the command does not wait for the new connection")
        guard case .use(_, open: nil) = pool.lease(nil, now: Self.start) else {
            Issue.record("one attempt at a time")
            return
        }
        let second = FakeConnection("c1")
        _ = pool.connected(slot: 1, second)
        guard case .use(let least, open: nil) = pool.lease(nil, now: Self.start) else {
            Issue.record("used")
            return
        }
        #expect(least === second, "the least busy connection")
        second.pendingCount = 5
        guard case .use(let other, open: nil) = pool.lease(nil, now: Self.start) else {
            Issue.record("used")
            return
        }
        #expect(other === first, "no slot left to open: the less busy of the two")
    }

    @Test func failuresBackOffDoublingUpToTheMaximumAndFailFastMeanwhile() {
        var pool = Self.machine(connections: 1)
        var now = Self.start
        let refused = StoreError(.unavailable, "connection refused")
        var delays: [Int64] = []
        for attempt in 1...6 {
            guard case .wait(open: 0) = pool.lease("w\(attempt)", now: now) else {
                Issue.record("attempt \(attempt) opens")
                return
            }
            #expect(pool.connectFailed(slot: 0, refused, now: now) == ["w\(attempt)"], "the waiter gets the error")
            // While the slot waits, a command fails at once with the last error.
            guard case .fail(let error) = pool.lease("x", now: now) else {
                Issue.record("fail fast")
                return
            }
            #expect(error.message == "connection refused")
            guard case .idle(let failures, let retryAt?, _) = pool.slots[0] else {
                Issue.record("idle")
                return
            }
            #expect(failures == attempt)
            delays.append((retryAt - now).nanoseconds / 1_000_000)
            now = retryAt
        }
        #expect(delays == [100, 200, 400, 800, 1000, 1000], "doubling from 100 ms, capped at 1 s")
        // Once the wait is over, the next command tries again; a success resets the count.
        guard case .wait(open: 0) = pool.lease("y", now: now) else {
            Issue.record("retried")
            return
        }
        _ = pool.connected(slot: 0, FakeConnection("c0"))
        #expect(pool.backoff(afterFailures: 1) == .milliseconds(100))
        let connection = FakeConnection("again")
        pool.closed(slot: 0, connection)
        guard case .ready = pool.slots[0] else {
            Issue.record("a close of another connection changes nothing")
            return
        }
    }

    @Test func aClosedConnectionsSlotOpensAgainAtOnce() {
        var pool = Self.machine(connections: 1)
        _ = pool.lease("a", now: Self.start)
        let connection = FakeConnection("c0")
        _ = pool.connected(slot: 0, connection)
        connection.isActive = false
        pool.closed(slot: 0, connection)
        guard case .wait(open: 0) = pool.lease("b", now: Self.start) else {
            Issue.record("reopened without waiting")
            return
        }

        // A close not yet reported: the dead connection is never handed out.
        var other = Self.machine(connections: 1)
        _ = other.lease("a", now: Self.start)
        let dead = FakeConnection("dead")
        _ = other.connected(slot: 0, dead)
        dead.isActive = false
        guard case .wait(open: 0) = other.lease("b", now: Self.start) else {
            Issue.record("a closed connection is not used")
            return
        }
    }

    @Test func shutdownClosesOpenConnectionsRefusesCommandsAndClosesLateOnes() {
        var pool = Self.machine()
        _ = pool.lease("a", now: Self.start)
        let open = FakeConnection("c0")
        _ = pool.connected(slot: 0, open)
        open.pendingCount = 1
        guard case .use(_, open: 1) = pool.lease(nil, now: Self.start) else {
            Issue.record("a second opens")
            return
        }
        _ = pool.lease(nil, now: Self.start)
        let toClose = pool.shutDown()
        #expect(toClose.map(\.name) == ["c0"], "the open connection closes once its commands are answered")
        guard case .fail(let error) = pool.lease("b", now: Self.start) else {
            Issue.record("refused after shutdown")
            return
        }
        #expect(error.code == .unavailable)
        let late = FakeConnection("late")
        guard case .closeAndFail(let closed, let waiters, _) = pool.connected(slot: 1, late) else {
            Issue.record("late closed")
            return
        }
        #expect(closed === late && waiters.isEmpty)
        #expect(pool.warmUp() == nil, "nothing opens after shutdown")
    }

    @Test func warmingUpOpensFreeSlotsOnly() {
        var pool = Self.machine(connections: 2)
        #expect(pool.warmUp() == 0)
        #expect(pool.warmUp() == 1)
        #expect(pool.warmUp() == nil)
        guard case .wait(open: nil) = pool.lease("a", now: Self.start) else {
            Issue.record("waits for a warm-up attempt")
            return
        }
        guard case .resume(let waiters, _, _) = pool.connected(slot: 0, FakeConnection("c0")) else {
            Issue.record("resumed")
            return
        }
        #expect(waiters == ["a"])
    }
}
