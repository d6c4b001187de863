/// The decisions of one ``ConnectionLane``, without its I/O: which operations are in flight on its connection and
/// until when, whether it takes new ones, whether it is stalled, and when its connection must be closed.
///
/// A value type whose methods take the time as an argument; the lane calls them under its lock and closes the
/// connection after releasing it. Tested event by event without a server (`ConnectionLaneStateMachineTests`).
struct ConnectionLaneStateMachine {
    /// How busy the lane is, when it takes new operations.
    enum Load: Equatable {
        /// Open, with this many operations in flight, the oldest of them waiting for `stalledFor` (zero when the lane
        /// has finished one within ``ConnectionLaneStateMachine/stallThreshold``, or has none in flight).
        case open(inFlight: Int, stalledFor: Duration)
        /// Closed, or closing.
        case closed
    }

    /// What ``checkDeadline(now:)`` found.
    enum DeadlineCheck: Equatable {
        /// The oldest operation in flight, if any, is within its deadline.
        case onTime
        /// The oldest operation is past its deadline: the lane takes no new operations, and every one in flight
        /// fails. `closeConnection` is set the first time, when the lane must close its connection.
        case overdue(closeConnection: Bool)
    }

    /// How long a lane with operations in flight may finish none before it counts as stalled. A statement of the store
    /// takes well under a millisecond on a healthy server, so a lane this slow is waiting on something.
    static let stallThreshold = Duration.milliseconds(20)

    private(set) var isOpen = true
    /// Whether the lane was closed because an operation outlived its deadline.
    private(set) var isExpired = false
    private var nextID: UInt64 = 0
    /// The operations in flight, oldest first, with their deadlines.
    private var inFlight: [(id: UInt64, deadline: ContinuousClock.Instant)] = []
    /// When an operation last finished, or started on the idle lane.
    private var progressed: ContinuousClock.Instant

    init(now: ContinuousClock.Instant) {
        self.progressed = now
    }

    /// Whether operations are in flight.
    var isBusy: Bool { !self.inFlight.isEmpty }

    func load(now: ContinuousClock.Instant) -> Load {
        guard self.isOpen else { return .closed }
        let waiting = self.inFlight.isEmpty ? .zero : now - self.progressed
        return .open(inFlight: self.inFlight.count, stalledFor: waiting > Self.stallThreshold ? waiting : .zero)
    }

    /// An operation starts on the lane.
    /// - Returns: its identifier, or `nil` when the lane is closed: the operation runs elsewhere.
    mutating func start(deadline: ContinuousClock.Instant, now: ContinuousClock.Instant) -> UInt64? {
        guard self.isOpen else { return nil }
        if self.inFlight.isEmpty { self.progressed = now }
        self.nextID += 1
        self.inFlight.append((self.nextID, deadline))
        return self.nextID
    }

    /// An operation ended, with its result or an error.
    mutating func finish(_ id: UInt64, now: ContinuousClock.Instant) {
        if let index = self.inFlight.firstIndex(where: { $0.id == id }) {
            self.inFlight.remove(at: index)
        }
        self.progressed = now
    }

    /// The lane takes no new operations.
    mutating func retire() {
        self.isOpen = false
    }

    /// Checks the oldest operation in flight against its deadline.
    mutating func checkDeadline(now: ContinuousClock.Instant) -> DeadlineCheck {
        guard let oldest = self.inFlight.first, oldest.deadline <= now else { return .onTime }
        let first = !self.isExpired
        self.isOpen = false
        self.isExpired = true
        return .overdue(closeConnection: first)
    }
}
