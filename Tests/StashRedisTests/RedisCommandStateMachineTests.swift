import NIOCore
import Stash
import Testing

@testable import StashRedis

/// One connection's decisions, event by event, without a channel.
@Suite struct RedisCommandStateMachineTests {
    typealias Machine = RedisCommandStateMachine<String>

    static let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    @Test func oneFlushAndOneTimerForCommandsWrittenTogether() {
        var connection = Machine(address: "redis.test:6379")
        guard case .write(scheduleFlush: true, armTimer: Self.start + .seconds(1)) = connection.write("a", deadline: Self.start + .seconds(1)) else {
            Issue.record("the first write schedules the flush and arms the timer")
            return
        }
        guard case .write(scheduleFlush: false, armTimer: nil) = connection.write("b", deadline: Self.start + .seconds(2)) else {
            Issue.record("the second shares both")
            return
        }
        connection.flushed()
        guard case .write(scheduleFlush: true, armTimer: nil) = connection.write("c", deadline: Self.start + .seconds(3)) else {
            Issue.record("after the flush ran, the next write schedules another")
            return
        }
        #expect(connection.pendingCount == 3)
    }

    @Test func repliesAnswerCommandsInOrderAndPushesAnswerNone() {
        var connection = Machine(address: "redis.test:6379")
        _ = connection.write("a", deadline: Self.start + .seconds(1))
        _ = connection.write("b", deadline: Self.start + .seconds(1))
        guard case .succeed("a") = connection.read(.integer(1), now: Self.start) else {
            Issue.record("a first")
            return
        }
        guard case .ignore = connection.read(.push([.bulkString(ByteBuffer(string: "invalidate"))]), now: Self.start) else {
            Issue.record("a push is no reply")
            return
        }
        guard case .succeed("b") = connection.read(.integer(2), now: Self.start) else {
            Issue.record("then b")
            return
        }
        guard case .close(let failed) = connection.read(.integer(3), now: Self.start) else {
            Issue.record("a reply nobody asked for")
            return
        }
        #expect(failed.isEmpty)
        #expect(connection.closedWith?.code == .protocolError)
        guard case .fail(let error) = connection.write("c", deadline: Self.start + .seconds(1)) else {
            Issue.record("closed")
            return
        }
        #expect(error.code == .protocolError)
    }

    @Test func theTimerFollowsTheOldestCommandAndALateOneClosesTheConnection() {
        var connection = Machine(address: "redis.test:6379")
        _ = connection.write("a", deadline: Self.start + .seconds(1))
        _ = connection.write("b", deadline: Self.start + .seconds(2))
        _ = connection.write("c", deadline: Self.start + .seconds(9))
        _ = connection.read(.integer(1), now: Self.start + .milliseconds(500))
        guard case .rearm(let deadline) = connection.timerFired(now: Self.start + .seconds(1)) else {
            Issue.record("b still has time")
            return
        }
        #expect(deadline == Self.start + .seconds(2))
        guard case .close(let failed) = connection.timerFired(now: Self.start + .seconds(2)) else {
            Issue.record("b is late")
            return
        }
        #expect(failed.map(\.0) == ["b", "c"])
        #expect(failed.map(\.1.code) == [.timedOut, .unavailable], "the late one timed out; the one behind it can never be answered")
        guard case .none = connection.timerFired(now: Self.start + .seconds(3)) else {
            Issue.record("nothing after the close")
            return
        }
        guard case .fail = connection.write("d", deadline: Self.start + .seconds(9)) else {
            Issue.record("refused after the close")
            return
        }
    }

    @Test func aClosedOrBrokenConnectionFailsEveryPendingCommandOnce() {
        var closed = Machine(address: "redis.test:6379")
        _ = closed.write("a", deadline: Self.start + .seconds(1))
        _ = closed.write("b", deadline: Self.start + .seconds(5))
        let failed = closed.closed(now: Self.start + .seconds(2))
        #expect(failed.map(\.0) == ["a", "b"] && failed.map(\.1.code) == [.timedOut, .unavailable])
        #expect(closed.closed(now: Self.start + .seconds(3)).isEmpty, "each command fails once")

        var broken = Machine(address: "redis.test:6379")
        _ = broken.write("a", deadline: Self.start + .seconds(1))
        let error = StoreError(.protocolError, "broken bytes")
        #expect(broken.errorCaught(error, now: Self.start).map(\.1.message) == ["broken bytes"])
        _ = broken.closed(now: Self.start)
        #expect(broken.closedWith?.message == "broken bytes", "the first reason stays")
        #expect(broken.pendingCount == 0)
    }
}
