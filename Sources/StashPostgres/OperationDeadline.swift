import Synchronization

/// The deadline of one store operation, shared by the task running it and the timer that cancels it.
final class OperationDeadline: Sendable {
    private enum Phase {
        case starting
        case running(TaskHandle)
        case finished
        case expired
    }

    private let phase = Mutex(Phase.starting)

    // @unchecked: the handle is only used under `phase`'s lock, while the task it names is still running.
    private struct TaskHandle: @unchecked Sendable {
        var task: UnsafeCurrentTask
    }

    /// Registers the calling task as the operation's, unless the deadline has already passed.
    /// - Returns: `false` when it has: the operation must not start.
    func start() -> Bool {
        withUnsafeCurrentTask { task in
            self.phase.withLock { phase in
                guard case .starting = phase, let task else { return false }
                phase = .running(TaskHandle(task: task))
                return true
            }
        }
    }

    /// Marks the operation done: the timer no longer touches its task.
    func finish() {
        self.phase.withLock { phase in
            if case .running = phase { phase = .finished }
        }
    }

    /// Called by the timer: cancels the operation's task if it still runs.
    ///
    /// The task is cancelled under the lock that ``finish()`` takes before the task ends, so it is alive then.
    func expire() {
        self.phase.withLock { phase in
            switch phase {
            case .starting:
                phase = .expired
            case .running(let handle):
                phase = .expired
                handle.task.cancel()
            case .finished, .expired:
                break
            }
        }
    }

    /// Whether the timer fired before the operation finished.
    var hasExpired: Bool {
        self.phase.withLock { phase in
            if case .expired = phase { return true }
            return false
        }
    }
}
