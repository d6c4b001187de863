/// The decisions of ``ConnectionLanes``, without its I/O: which open lane an operation goes to, and when it leases a
/// connection of its own or waits for a lane to open.
///
/// A value type generic over the lane, so that it is tested with plain values (`ConnectionLanesStateMachineTests`);
/// ``ConnectionLanes`` calls it under its lock.
struct ConnectionLanesStateMachine<Lane: AnyObject> {
    /// What an operation does.
    enum Choice {
        /// Run on this lane: the open one with the fewest operations in flight.
        case lane(Lane)
        /// Lease a connection of its own: no lanes are kept (the store is not running, or shares no connection), or
        /// every open lane has been stalled for over ``ConnectionLanesStateMachine/bypassThreshold``.
        case ownConnection
        /// Wait for a lane: they are kept, but none is open (they are connecting, or reconnecting after the server
        /// went away). Waiting, rather than competing with them for the pool's connections.
        case waitForLane
    }

    /// How long every open lane may be stalled before operations lease connections of their own. Shorter stalls of
    /// every lane at once are more likely a busy machine than statements waiting on locks, and new connections would
    /// only add to its load.
    static var bypassThreshold: Duration { .milliseconds(500) }

    /// Whether lanes are kept (the store's service runs ``ConnectionLanes/keep(_:client:timeout:logger:)``).
    private(set) var isKept = false
    private(set) var lanes: [Lane] = []
    /// Where the search for the least busy lane starts, in turn, so that equally busy lanes share the work.
    private var next = 0

    mutating func startKeeping() {
        self.isKept = true
    }

    mutating func stopKeeping() {
        self.isKept = false
    }

    /// A lane opened.
    mutating func add(_ lane: Lane) {
        self.lanes.append(lane)
    }

    /// A lane closed, or is retiring.
    mutating func remove(_ lane: Lane) {
        self.lanes.removeAll { $0 === lane }
    }

    /// The open lane with the fewest operations in flight, not counting stalled ones; when every one is stalled, the
    /// one that moved last, unless that was over ``bypassThreshold`` ago.
    mutating func choose(load: (Lane) -> ConnectionLaneStateMachine.Load) -> Choice {
        guard self.isKept else { return .ownConnection }
        let count = self.lanes.count
        var moving: (lane: Lane, inFlight: Int)?
        var stalled: (lane: Lane, stalledFor: Duration)?
        for offset in 0..<count {
            let lane = self.lanes[(self.next &+ offset) % count]
            guard case .open(let inFlight, let stalledFor) = load(lane) else { continue }
            if stalledFor > .zero {
                if stalled.map({ stalledFor < $0.stalledFor }) ?? true { stalled = (lane, stalledFor) }
            } else if moving.map({ inFlight < $0.inFlight }) ?? true {
                moving = (lane, inFlight)
                if inFlight == 0 { break }
            }
        }
        self.next &+= 1
        if let moving { return .lane(moving.lane) }
        if let stalled { return stalled.stalledFor > Self.bypassThreshold ? .ownConnection : .lane(stalled.lane) }
        return .waitForLane
    }
}
