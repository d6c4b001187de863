import NIOCore

/// The tasks of this process waiting for each lock stripe, in the order they came.
///
/// A stripe's file lock is only ever tried, never waited for in the kernel (see ``FileLockStripes``), so a task
/// whose lock is busy tries again later. Were all the tasks of this process that want one stripe to do that, a
/// thousand concurrent increments of one key would make a thousand work items every few milliseconds, in no order,
/// and one unlucky task could lose for seconds. Instead they line up here, without a thread or a work item each, and
/// only the first tries the file lock, which then only other processes (or a stuck holder) can keep from it.
///
/// The queue orders; the file lock excludes. A task's turn comes when the tasks before it are done, each bounded by
/// the lock timeout, so waiting here is bounded too; it is not cancellable, but a cancelled task gives up its turn at
/// once.
final class LockStripeQueue: Sendable {
    private struct Stripe {
        /// The tasks waiting after the one whose turn it is.
        var waiters = CircularBuffer<CheckedContinuation<Void, Never>>()
    }

    /// The stripes some task of this process has its turn on; a missing stripe is free.
    private let stripes = Locked<[UInt8: Stripe]>([:])

    /// Waits for this task's turn on a stripe: returns at once when no other task of this process has it.
    func enter(_ stripe: UInt8) async {
        let free = self.stripes.withLock { stripes in
            guard stripes[stripe] == nil else { return false }
            stripes[stripe] = Stripe()
            return true
        }
        if free { return }
        await withCheckedContinuation { continuation in
            let turn = self.stripes.withLock { stripes in
                // The stripe may have been left meanwhile.
                guard stripes[stripe] != nil else {
                    stripes[stripe] = Stripe()
                    return true
                }
                stripes[stripe]!.waiters.append(continuation)
                return false
            }
            if turn { continuation.resume() }
        }
    }

    /// Ends this task's turn on a stripe, handing it to the next waiting task.
    func leave(_ stripe: UInt8) {
        let next = self.stripes.withLock { stripes -> CheckedContinuation<Void, Never>? in
            if let next = stripes[stripe]?.waiters.popFirst() { return next }
            stripes[stripe] = nil
            return nil
        }
        next?.resume()
    }
}
