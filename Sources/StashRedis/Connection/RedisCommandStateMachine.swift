import NIOCore
import Stash

/// The decisions of one connection's ``RedisCommandHandler``, without its I/O: which command a reply answers, when to
/// flush, when the timeout timer must be armed, and which commands fail with what when the connection ends.
///
/// Redis answers in order, so the pending commands are a queue. One timer watches the oldest pending command; when
/// its deadline passes the connection is closed and every pending command fails — those past their deadline with
/// ``/Stash/StoreError/Code/timedOut``, the others with the closing error — so a late reply can never be matched to the
/// wrong command, and no command is answered twice. Generic over the request, so it is tested with plain values.
struct RedisCommandStateMachine<Request> {
    /// What to do with a command the application writes.
    enum WriteAction {
        /// Write it; flush at the end of this event-loop tick when `scheduleFlush`, and arm the timer for `armTimer`.
        case write(scheduleFlush: Bool, armTimer: NIODeadline?)
        /// The connection is closing: fail the command at once.
        case fail(StoreError)
    }

    /// What to do with a reply from the server.
    enum ReadAction {
        /// Complete this command with the reply.
        case succeed(Request)
        /// A push (RESP3 `>`): no command's reply.
        case ignore
        /// A reply nobody asked for: close the connection, failing these commands.
        case close([(Request, StoreError)])
    }

    /// What to do when the timer fires.
    enum TimerAction {
        /// Nothing pending.
        case none
        /// The oldest command still has time: arm the timer for its deadline.
        case rearm(NIODeadline)
        /// A command is late: close the connection, failing these commands.
        case close([(Request, StoreError)])
    }

    private var pending = CircularBuffer<(request: Request, deadline: NIODeadline)>(initialCapacity: 16)
    private var flushScheduled = false
    private var timerArmed = false
    /// Set once the connection is closing: later commands fail at once with it.
    private(set) var closedWith: StoreError?
    let address: String

    init(address: String) {
        self.address = address
    }

    /// The number of commands waiting for their reply.
    var pendingCount: Int { self.pending.count }

    /// The application writes a command.
    mutating func write(_ request: Request, deadline: NIODeadline) -> WriteAction {
        if let closedWith = self.closedWith { return .fail(closedWith) }
        self.pending.append((request, deadline))
        let scheduleFlush = !self.flushScheduled
        self.flushScheduled = true
        var armTimer: NIODeadline?
        if !self.timerArmed {
            self.timerArmed = true
            armTimer = deadline
        }
        return .write(scheduleFlush: scheduleFlush, armTimer: armTimer)
    }

    /// The flush scheduled by a write ran.
    mutating func flushed() {
        self.flushScheduled = false
    }

    /// A value arrived from the server.
    mutating func read(_ value: RESPValue, now: NIODeadline) -> ReadAction {
        if case .push = value { return .ignore }
        guard let (request, _) = self.pending.popFirst() else {
            return .close(self.closing(StoreError(.protocolError, "Redis at \(self.address) sent a reply nobody asked for"), now: now))
        }
        return .succeed(request)
    }

    /// The timer armed for the oldest command's deadline fired.
    mutating func timerFired(now: NIODeadline) -> TimerAction {
        self.timerArmed = false
        guard let oldest = self.pending.first, self.closedWith == nil else { return .none }
        guard oldest.deadline <= now else {
            self.timerArmed = true
            return .rearm(oldest.deadline)
        }
        let error = StoreError(.unavailable, "the connection to Redis at \(self.address) closed after a command timed out")
        return .close(self.closing(error, now: now))
    }

    /// The channel failed (a broken reply, a socket error): the connection closes, failing every pending command.
    mutating func errorCaught(_ error: StoreError, now: NIODeadline) -> [(Request, StoreError)] {
        self.closing(error, now: now)
    }

    /// The channel closed: every pending command fails.
    mutating func closed(now: NIODeadline) -> [(Request, StoreError)] {
        self.closing(StoreError(.unavailable, "the connection to Redis at \(self.address) closed"), now: now)
    }

    /// Marks the connection closing (the first reason stays) and takes every pending command with its error.
    private mutating func closing(_ error: StoreError, now: NIODeadline) -> [(Request, StoreError)] {
        if self.closedWith == nil { self.closedWith = error }
        var failed: [(Request, StoreError)] = []
        failed.reserveCapacity(self.pending.count)
        while let (request, deadline) = self.pending.popFirst() {
            failed.append((request, deadline <= now ? StoreError(.timedOut, "Redis at \(self.address) did not answer in time") : error))
        }
        return failed
    }
}
