import NIOCore
import Stash

/// A task executor running jobs on one NIO event loop, so a task that prefers it runs beside its connection.
///
/// A statement written from the connection's own event loop reaches the channel in the same turn as the check that
/// the channel is open, and its reply resumes the task where it arrived, with no hop to another thread in between.
final class EventLoopExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        self.eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}

/// One ``EventLoopExecutor`` per event loop, made on first use.
final class EventLoopExecutors: Sendable {
    private let executors = Locked<[ObjectIdentifier: EventLoopExecutor]>([:])

    /// The executor of an event loop.
    func executor(for eventLoop: any EventLoop) -> EventLoopExecutor {
        self.executors.withLock { executors in
            let id = ObjectIdentifier(eventLoop)
            if let executor = executors[id] { return executor }
            let executor = EventLoopExecutor(eventLoop)
            executors[id] = executor
            return executor
        }
    }
}
