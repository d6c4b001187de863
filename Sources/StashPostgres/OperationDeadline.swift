import Stash

/// The deadline of one store operation: the operation runs as a child task, and the parent waits here for whichever
/// comes first, the operation's end or the timer that marks the deadline. When the deadline comes first, the parent
/// cancels the operation, with the task group's own cancellation: no handle on a task is kept anywhere.
final class OperationDeadline: Sendable {
    private enum Phase {
        /// Neither has happened, and the parent is not waiting yet.
        case running
        /// The parent waits.
        case waiting(CheckedContinuation<Bool, Never>)
        /// The operation ended first.
        case finished
        /// The deadline came first.
        case expired
    }

    private let phase = Locked(Phase.running)

    /// Called by the operation when it ends, however it ends.
    func finish() {
        self.end(finished: true)
    }

    /// Called by the timer.
    func expire() {
        self.end(finished: false)
    }

    /// Waits for the operation's end or the deadline, whichever comes first.
    /// - Returns: `true` when the operation ended first, `false` when the deadline passed.
    func wait() async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let outcome = self.phase.withLock { phase -> Bool? in
                switch phase {
                case .running:
                    phase = .waiting(continuation)
                    return nil
                case .finished:
                    return true
                case .expired:
                    return false
                case .waiting:
                    preconditionFailure("an operation's deadline has one waiter")
                }
            }
            if let outcome { continuation.resume(returning: outcome) }
        }
    }

    /// Whether the deadline came before the operation ended.
    var hasExpired: Bool {
        self.phase.withLock { phase in
            if case .expired = phase { return true }
            return false
        }
    }

    private func end(finished: Bool) {
        let waiter = self.phase.withLock { phase -> CheckedContinuation<Bool, Never>? in
            switch phase {
            case .running:
                phase = finished ? .finished : .expired
                return nil
            case .waiting(let continuation):
                phase = finished ? .finished : .expired
                return continuation
            case .finished, .expired:
                return nil
            }
        }
        waiter?.resume(returning: finished)
    }
}
