import NIOCore
import Stash

/// What a pooled connection tells the pool's decisions: how busy it is, and whether it is still open.
protocol RedisPooledConnection: AnyObject {
    /// Commands sent on it and not yet answered.
    var pendingCount: Int { get }
    /// Whether the connection is still open.
    var isActive: Bool { get }
}

/// The decisions of ``RedisConnectionPool``, without its I/O: which connection a command goes to, when to open one,
/// how long to wait after failures, whom to wake when a connection opens or fails, and what to close at shutdown.
///
/// A value type whose methods take an event and return what to do; the pool calls them under its lock and performs
/// the actions after releasing it. Generic over the connection and over what waits for one, so that it is tested
/// event by event with plain values, without a server.
///
/// Up to `maximumConnections` slots, of which the first ``limit`` may be used (a cluster shares its connections out
/// among its primaries, and changes the share when the primaries change). A command goes to the least busy open
/// connection; while that one is busy and a slot is free, another opens for the commands that follow. After a failed attempt a slot waits before trying again,
/// twice as long each time up to the maximum delay; while every slot waits, commands fail at once with the last
/// connection error rather than hang.
struct RedisPoolStateMachine<Connection: RedisPooledConnection, Waiter> {
    enum Slot {
        /// No connection: free to open at once (`retryAt` nil or passed), or waiting after `failures` failed attempts.
        case idle(failures: Int, retryAt: NIODeadline?, lastError: StoreError?)
        /// An attempt runs; `waiters` get its connection, or its error.
        case connecting(failures: Int, waiters: [Waiter])
        case ready(Connection)
    }

    /// What a command that asks for a connection does.
    enum LeaseAction {
        /// Send on this connection; when `open` is set, also start connecting that slot, for the commands that follow.
        case use(Connection, open: Int?)
        /// Wait: the waiter was queued on an attempt; when `open` is set, start connecting that slot (the attempt it
        /// waits for).
        case wait(open: Int?)
        /// Fail the command at once.
        case fail(StoreError)
    }

    /// What to do when an attempt ends.
    enum ConnectedAction {
        /// Give the connection to these waiters; when `retire`, its slot is past the limit now: close it once their
        /// commands are answered.
        case resume([Waiter], Connection, retire: Bool)
        /// The pool shut down meanwhile: close the connection, and fail the waiters.
        case closeAndFail(Connection, [Waiter], StoreError)
    }

    let maximumConnections: Int
    let firstDelay: TimeAmount
    let maximumDelay: TimeAmount
    let address: String
    private(set) var slots: [Slot]
    /// How many of the slots may hold a connection; the ones past it are closed once idle.
    private(set) var limit: Int
    private(set) var isShutDown = false

    init(maximumConnections: Int, firstDelay: TimeAmount, maximumDelay: TimeAmount, address: String) {
        self.maximumConnections = maximumConnections
        self.firstDelay = firstDelay
        self.maximumDelay = maximumDelay
        self.address = address
        self.slots = Array(repeating: .idle(failures: 0, retryAt: nil, lastError: nil), count: maximumConnections)
        self.limit = maximumConnections
    }

    /// Lets only the first `limit` slots (at least one, at most `maximumConnections`) hold connections from now on;
    /// returns the open connections past it, to close once their commands are answered.
    mutating func limit(to limit: Int) -> [Connection] {
        self.limit = min(max(limit, 1), self.slots.count)
        return self.slots[self.limit...].compactMap { if case .ready(let connection) = $0 { connection } else { nil } }
    }

    /// A command asks for a connection. With `waiter` nil, only a connection that can be used at once (or a failure)
    /// is an answer: ``LeaseAction/wait(open:)`` is returned without queueing anything and nothing is opened, so the
    /// caller makes a waiter and asks again.
    mutating func lease(_ waiter: Waiter?, now: NIODeadline) -> LeaseAction {
        guard !self.isShutDown else { return .fail(self.shutDownError) }
        var best: (index: Int, connection: Connection)?
        var connecting: Int?
        var openable: Int?
        var lastError: StoreError?
        for index in self.slots.indices {
            switch self.slots[index] {
            case .ready where index >= self.limit, .idle where index >= self.limit:
                // Past the limit: closing once idle, or never to open.
                break
            case .ready(let connection):
                if connection.isActive {
                    if best == nil || connection.pendingCount < best!.connection.pendingCount { best = (index, connection) }
                } else {
                    // Closed since: the close event may still be on its way.
                    self.slots[index] = .idle(failures: 0, retryAt: nil, lastError: nil)
                    if openable == nil { openable = index }
                }
            case .connecting:
                if connecting == nil { connecting = index }
            case .idle(_, let retryAt, let error):
                if retryAt.map({ $0 <= now }) ?? true {
                    if openable == nil { openable = index }
                } else if lastError == nil {
                    lastError = error
                }
            }
        }
        if let best {
            // Busy: open another connection for later commands, but do not wait for it.
            if best.connection.pendingCount > 0, connecting == nil, let openable {
                self.startConnecting(openable, waiters: [])
                return .use(best.connection, open: openable)
            }
            return .use(best.connection, open: nil)
        }
        guard connecting != nil || openable != nil else {
            return .fail(lastError ?? StoreError(.unavailable, "Redis at \(self.address) is unreachable; reconnecting"))
        }
        guard let waiter else { return .wait(open: nil) }
        if let connecting, case .connecting(let failures, var waiters) = self.slots[connecting] {
            waiters.append(waiter)
            self.slots[connecting] = .connecting(failures: failures, waiters: waiters)
            return .wait(open: nil)
        }
        self.startConnecting(openable!, waiters: [waiter])
        return .wait(open: openable)
    }

    /// The pool starts: the slot to open for one more of its minimum connections, if one is free.
    mutating func warmUp() -> Int? {
        guard !self.isShutDown else { return nil }
        guard let index = self.slots[..<self.limit].firstIndex(where: { if case .idle = $0 { true } else { false } }) else { return nil }
        self.startConnecting(index, waiters: [])
        return index
    }

    /// An attempt opened a connection.
    mutating func connected(slot index: Int, _ connection: Connection) -> ConnectedAction {
        guard case .connecting(_, let waiters) = self.slots[index] else {
            preconditionFailure("slot \(index) connected without an attempt")
        }
        if self.isShutDown {
            self.slots[index] = .idle(failures: 0, retryAt: nil, lastError: nil)
            return .closeAndFail(connection, waiters, self.shutDownError)
        }
        self.slots[index] = .ready(connection)
        return .resume(waiters, connection, retire: index >= self.limit)
    }

    /// An attempt failed: the slot waits before the next one; its waiters fail with the error.
    mutating func connectFailed(slot index: Int, _ error: StoreError, now: NIODeadline) -> [Waiter] {
        guard case .connecting(let failures, let waiters) = self.slots[index] else {
            preconditionFailure("slot \(index) failed without an attempt")
        }
        self.slots[index] = .idle(failures: failures + 1, retryAt: now + self.backoff(afterFailures: failures + 1), lastError: error)
        return waiters
    }

    /// A connection closed (the server went away, or a timeout closed it): its slot is free again, at once.
    mutating func closed(slot index: Int, _ connection: Connection) {
        if case .ready(let current) = self.slots[index], current === connection {
            self.slots[index] = .idle(failures: 0, retryAt: nil, lastError: nil)
        }
    }

    /// The pool shuts down: later commands fail; returns the open connections to close once their commands are
    /// answered. Attempts still running are closed when they end.
    mutating func shutDown() -> [Connection] {
        self.isShutDown = true
        return self.slots.compactMap { if case .ready(let connection) = $0 { connection } else { nil } }
    }

    /// The wait after a number of consecutive failures: the first delay, doubled each time, capped.
    func backoff(afterFailures failures: Int) -> TimeAmount {
        let exponent = min(max(failures - 1, 0), 30)
        let (delay, overflow) = self.firstDelay.nanoseconds.multipliedReportingOverflow(by: 1 << exponent)
        return .nanoseconds(overflow ? self.maximumDelay.nanoseconds : min(delay, self.maximumDelay.nanoseconds))
    }

    private mutating func startConnecting(_ index: Int, waiters: [Waiter]) {
        var failures = 0
        if case .idle(let count, _, _) = self.slots[index] { failures = count }
        self.slots[index] = .connecting(failures: failures, waiters: waiters)
    }

    private var shutDownError: StoreError {
        StoreError(.unavailable, "the Redis connection pool for \(self.address) has shut down")
    }
}
