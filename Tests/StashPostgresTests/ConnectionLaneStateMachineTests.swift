import Testing

@testable import StashPostgres

/// A shared connection's decisions, event by event, without a server: what is in flight, stalls, deadlines, retiring.
@Suite struct ConnectionLaneStateMachineTests {
    static let start = ContinuousClock.now

    static func at(_ milliseconds: Int) -> ContinuousClock.Instant {
        Self.start + .milliseconds(milliseconds)
    }

    @Test func anIdleLaneIsOpenWithNothingInFlight() {
        let lane = ConnectionLaneStateMachine(now: Self.at(0))
        #expect(lane.load(now: Self.at(10_000)) == .open(inFlight: 0, stalledFor: .zero))
        #expect(!lane.isBusy)
    }

    @Test func operationsCountWhileInFlightInAnyOrderOfFinishing() throws {
        var lane = ConnectionLaneStateMachine(now: Self.at(0))
        let firstStarted = lane.start(deadline: Self.at(1_000), now: Self.at(0))
        let first = try #require(firstStarted)
        let secondStarted = lane.start(deadline: Self.at(1_000), now: Self.at(1))
        let second = try #require(secondStarted)
        #expect(first != second)
        #expect(lane.load(now: Self.at(2)) == .open(inFlight: 2, stalledFor: .zero))
        lane.finish(second, now: Self.at(3))
        #expect(lane.load(now: Self.at(4)) == .open(inFlight: 1, stalledFor: .zero))
        lane.finish(first, now: Self.at(5))
        #expect(!lane.isBusy)
        // Finishing twice (an error path and the normal one) changes nothing.
        lane.finish(first, now: Self.at(6))
        #expect(lane.load(now: Self.at(7)) == .open(inFlight: 0, stalledFor: .zero))
    }

    @Test func aLaneThatFinishesNothingForTheThresholdIsStalledUntilOneFinishes() throws {
        var lane = ConnectionLaneStateMachine(now: Self.at(0))
        let threshold = 20
        #expect(ConnectionLaneStateMachine.stallThreshold == .milliseconds(threshold))
        // Idle for long: the wait counts from the start of the first operation, not from the last finish.
        let firstStarted = lane.start(deadline: Self.at(10_000), now: Self.at(1_000))
        let first = try #require(firstStarted)
        let ignoredStarted = lane.start(deadline: Self.at(10_000), now: Self.at(1_005))
        _ = try #require(ignoredStarted)
        #expect(lane.load(now: Self.at(1_000 + threshold)) == .open(inFlight: 2, stalledFor: .zero))
        #expect(lane.load(now: Self.at(1_000 + threshold + 1)) == .open(inFlight: 2, stalledFor: .milliseconds(threshold + 1)))
        // One finishes: the lane moves again, though the other is still in flight.
        lane.finish(first, now: Self.at(1_050))
        #expect(lane.load(now: Self.at(1_060)) == .open(inFlight: 1, stalledFor: .zero))
        #expect(lane.load(now: Self.at(1_100)) == .open(inFlight: 1, stalledFor: .milliseconds(50)))
    }

    @Test func theOldestOperationPastItsDeadlineClosesTheConnectionOnceAndTheLaneForGood() throws {
        var lane = ConnectionLaneStateMachine(now: Self.at(0))
        let earlyStarted = lane.start(deadline: Self.at(100), now: Self.at(0))
        let early = try #require(earlyStarted)
        let ignoredStarted = lane.start(deadline: Self.at(50), now: Self.at(10))
        _ = try #require(ignoredStarted)
        // Only the oldest is checked: the later one's earlier deadline waits for it (statements run in order).
        #expect(lane.checkDeadline(now: Self.at(60)) == .onTime)
        #expect(lane.checkDeadline(now: Self.at(100)) == .overdue(closeConnection: true))
        #expect(lane.isExpired)
        #expect(lane.load(now: Self.at(101)) == .closed)
        #expect(lane.start(deadline: Self.at(1_000), now: Self.at(101)) == nil)
        // Checked again while the failed operations drain: overdue, but the connection is closed only once.
        #expect(lane.checkDeadline(now: Self.at(102)) == .overdue(closeConnection: false))
        lane.finish(early, now: Self.at(103))
        #expect(lane.isBusy)
    }

    @Test func aRetiredLaneTakesNothingNewButItsOperationsFinish() throws {
        var lane = ConnectionLaneStateMachine(now: Self.at(0))
        let idStarted = lane.start(deadline: Self.at(1_000), now: Self.at(0))
        let id = try #require(idStarted)
        lane.retire()
        #expect(lane.load(now: Self.at(1)) == .closed)
        #expect(lane.start(deadline: Self.at(1_000), now: Self.at(1)) == nil)
        #expect(!lane.isExpired)
        #expect(lane.isBusy)
        lane.finish(id, now: Self.at(2))
        #expect(!lane.isBusy)
        #expect(lane.checkDeadline(now: Self.at(5_000)) == .onTime)
    }
}

/// The choice among shared connections, without a server.
@Suite struct ConnectionLanesStateMachineTests {
    final class Lane: CustomStringConvertible {
        let name: String
        var load: ConnectionLaneStateMachine.Load
        init(_ name: String, _ load: ConnectionLaneStateMachine.Load) {
            self.name = name
            self.load = load
        }
        var description: String { self.name }
    }

    typealias Machine = ConnectionLanesStateMachine<Lane>

    static func chosen(_ machine: inout Machine) -> String {
        switch machine.choose(load: { $0.load }) {
        case .lane(let lane): return lane.name
        case .ownConnection: return "own"
        case .waitForLane: return "wait"
        }
    }

    static func kept(_ lanes: [Lane]) -> Machine {
        var machine = Machine()
        machine.startKeeping()
        for lane in lanes { machine.add(lane) }
        return machine
    }

    @Test func withoutKeptLanesAnOperationLeasesItsOwnConnection() {
        var machine = Machine()
        machine.add(Lane("a", .open(inFlight: 0, stalledFor: .zero)))
        #expect(Self.chosen(&machine) == "own")
        machine.startKeeping()
        #expect(Self.chosen(&machine) == "a")
        machine.stopKeeping()
        #expect(Self.chosen(&machine) == "own")
    }

    @Test func keptLanesThatAreNotOpenYetAreWaitedFor() {
        var machine = Self.kept([])
        #expect(Self.chosen(&machine) == "wait")
        machine.add(Lane("a", .closed))
        #expect(Self.chosen(&machine) == "wait")
    }

    @Test func theLeastBusyMovingLaneIsChosen() {
        var machine = Self.kept([
            Lane("a", .open(inFlight: 3, stalledFor: .zero)),
            Lane("b", .open(inFlight: 1, stalledFor: .zero)),
            Lane("c", .closed),
            Lane("d", .open(inFlight: 2, stalledFor: .zero)),
        ])
        for _ in 0..<4 {
            #expect(Self.chosen(&machine) == "b")
        }
    }

    @Test func equallyIdleLanesTakeTurns() {
        var machine = Self.kept([
            Lane("a", .open(inFlight: 0, stalledFor: .zero)),
            Lane("b", .open(inFlight: 0, stalledFor: .zero)),
            Lane("c", .open(inFlight: 0, stalledFor: .zero)),
        ])
        #expect((0..<6).map { _ in Self.chosen(&machine) } == ["a", "b", "c", "a", "b", "c"])
    }

    @Test func aStalledLaneIsPassedOverWhileAnotherMoves() {
        let stalled = Lane("a", .open(inFlight: 1, stalledFor: .milliseconds(30)))
        let busy = Lane("b", .open(inFlight: 7, stalledFor: .zero))
        var machine = Self.kept([stalled, busy])
        #expect(Self.chosen(&machine) == "b")
        #expect(Self.chosen(&machine) == "b")
    }

    @Test func whenEveryLaneIsStalledTheOneThatMovedLastIsChosenUntilTheBypassThreshold() {
        let a = Lane("a", .open(inFlight: 1, stalledFor: .milliseconds(400)))
        let b = Lane("b", .open(inFlight: 4, stalledFor: .milliseconds(30)))
        var machine = Self.kept([a, b])
        #expect(Self.chosen(&machine) == "b")
        b.load = .open(inFlight: 4, stalledFor: Machine.bypassThreshold)
        #expect(Self.chosen(&machine) == "a")
        a.load = .open(inFlight: 1, stalledFor: Machine.bypassThreshold + .milliseconds(1))
        b.load = .open(inFlight: 4, stalledFor: Machine.bypassThreshold + .milliseconds(2))
        #expect(Self.chosen(&machine) == "own")
    }

    @Test func aRemovedLaneIsNoLongerChosen() {
        let a = Lane("a", .open(inFlight: 0, stalledFor: .zero))
        let b = Lane("b", .open(inFlight: 5, stalledFor: .zero))
        var machine = Self.kept([a, b])
        machine.remove(a)
        #expect(Self.chosen(&machine) == "b")
        machine.remove(b)
        #expect(Self.chosen(&machine) == "wait")
    }
}
