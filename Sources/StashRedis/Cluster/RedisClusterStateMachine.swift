import NIOCore

/// The decisions of a Redis Cluster router, without I/O: which primary serves a slot, when to read the topology
/// again, and what to do with a command's reply. Events come in (a reply, a connection that failed, a refresh that
/// finished), actions come out; the router performs them outside its lock.
struct RedisClusterStateMachine: Sendable {
    /// What to do with a command after its reply (or its failure).
    enum ReplyAction: Equatable, Sendable {
        /// The reply is the command's answer.
        case deliver
        /// Send the command to this node (after `ASKING` when `asking`), at once.
        case retry(on: RedisClusterTopology.Node, asking: Bool)
        /// Send the command again once this much time has passed (the slot's node is read again meanwhile).
        case retryAfter(TimeAmount)
        /// Give up: the command was redirected or retried too often, or its time is over.
        case fail(String)
    }

    /// The most times one command is sent.
    static let maximumAttempts = 16
    /// The first pause before a retry; it doubles, up to ``maximumPause``.
    static let firstPause = TimeAmount.milliseconds(10)
    static let maximumPause = TimeAmount.milliseconds(250)
    /// The shortest time between two topology reads, so that a storm of redirections reads it once.
    static let refreshInterval = TimeAmount.milliseconds(100)

    private(set) var topology: RedisClusterTopology
    /// Whether a topology read is running.
    private(set) var isRefreshing = false
    /// Whether another read is wanted once the running one ends.
    private var refreshRequested = false
    private var lastRefresh: NIODeadline?

    init(topology: RedisClusterTopology = RedisClusterTopology()) {
        self.topology = topology
    }

    /// The primary that serves a slot, if the topology knows one.
    func primary(forSlot slot: Int) -> RedisClusterTopology.Node? {
        self.topology.primary(forSlot: slot)
    }

    /// Asks for the topology to be read again.
    /// - Returns: Whether the caller should start the read now (none runs, and the last one is not too recent).
    mutating func requestRefresh(now: NIODeadline) -> Bool {
        if self.isRefreshing {
            self.refreshRequested = true
            return false
        }
        if let last = self.lastRefresh, now - last < Self.refreshInterval {
            self.refreshRequested = true
            return false
        }
        self.isRefreshing = true
        self.refreshRequested = false
        return true
    }

    /// A topology read ended, with a new topology or without (every node failed). A read requested meanwhile is
    /// started by ``dueRefresh(now:)`` once ``refreshInterval`` has passed.
    mutating func refreshEnded(_ topology: RedisClusterTopology?, now: NIODeadline) {
        if let topology { self.topology = topology }
        self.isRefreshing = false
        self.lastRefresh = now
    }

    /// Whether a requested read is due (it waited for ``refreshInterval``): the router's next command starts it.
    mutating func dueRefresh(now: NIODeadline) -> Bool {
        guard self.refreshRequested else { return false }
        return self.requestRefresh(now: now)
    }

    /// Decides what becomes of a command after its reply.
    /// - Parameters:
    ///   - redirect: What the reply asks for, `nil` for an answer.
    ///   - attempt: How many times the command was sent (1 for the first).
    ///   - now: The time now; `deadline`, when the command's time is over.
    /// - Returns: The action, and whether to start a topology read (a `MOVED`).
    mutating func replied(
        _ redirect: RedisClusterRedirect?,
        attempt: Int,
        now: NIODeadline,
        deadline: NIODeadline
    ) -> (action: ReplyAction, refresh: Bool) {
        guard let redirect else { return (.deliver, false) }
        guard attempt < Self.maximumAttempts, now < deadline else {
            return (.fail("redirected \(attempt) times without an answer (\(redirect))"), false)
        }
        switch redirect {
        case .moved(let slot, let node):
            // The slot moved: send there now, and read the whole topology again (more slots likely moved too).
            self.topology.move(slot: slot, to: node)
            return (.retry(on: node, asking: false), self.requestRefresh(now: now))
        case .ask(_, let node):
            return (.retry(on: node, asking: true), false)
        case .tryAgain:
            return (.retryAfter(self.pause(after: attempt, now: now, deadline: deadline)), false)
        }
    }

    /// Decides what becomes of a command that has no node to go to yet (no topology is known for its slot) or whose
    /// node could not be reached (it was never sent): wait, read the topology again (a replica may have been
    /// promoted), and try again — until its time is over. Such waits are not sends: only its deadline bounds them.
    /// - Parameter waits: How many times the command waited so before (0 for the first).
    mutating func unreachable(waits: Int, now: NIODeadline, deadline: NIODeadline) -> (action: ReplyAction, refresh: Bool) {
        guard now < deadline else { return (.fail("found no node to serve it before its timeout"), false) }
        return (.retryAfter(self.pause(after: waits + 1, now: now, deadline: deadline)), self.requestRefresh(now: now))
    }

    /// The pause before the next attempt: doubling from ``firstPause``, never past ``maximumPause`` or the deadline.
    private func pause(after attempt: Int, now: NIODeadline, deadline: NIODeadline) -> TimeAmount {
        let doubled = Self.firstPause.nanoseconds << min(max(attempt - 1, 0), 10)
        return .nanoseconds(max(0, min(doubled, Self.maximumPause.nanoseconds, (deadline - now).nanoseconds)))
    }
}
