// How operations wait for a key's lock without holding a thread while they wait.
extension FileStore {
    /// Runs `body` as one work item holding the lock of a key of this namespace; see
    /// ``performLocked(stripe:key:path:_:)``.
    func performLocked<Result: Sendable>(
        key: String,
        path: String,
        _ body: @escaping @Sendable () throws -> Result
    ) async throws -> Result {
        let stripe = FileLockStripes.stripe(namespacePath: self.namespacePath, key: key)
        return try await self.performLocked(stripe: stripe, key: key, path: path, body)
    }

    /// Runs `body` as one work item holding the lock of a stripe, waiting up to ``Configuration/lockTimeout`` for it.
    ///
    /// The tasks of this process wanting the stripe take turns, in order (``LockStripeQueue``). On its turn a task
    /// tries the file lock in a work item, waiting on its thread for at most ``FileLockStripes/waitOnThread``, and
    /// gives its thread back when the lock is still busy (held by another process). Between work items the task is
    /// suspended (1 ms, doubling up to 5 ms), so a lock held for long elsewhere delays the keys of its stripe and
    /// never the rest of the store. The timeout counts from the call; a task whose turn comes later than that still
    /// tries the lock once.
    /// - Throws: ``StoreError/Code/timedOut`` when the lock stays busy past the timeout, naming the lock file.
    func performLocked<Result: Sendable>(
        stripe: UInt8,
        key: String,
        path: String,
        _ body: @escaping @Sendable () throws -> Result
    ) async throws -> Result {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: self.configuration.lockTimeout)
        let locks = self.storage.locks
        let queue = self.storage.queue
        await queue.enter(stripe)
        defer { queue.leave(stripe) }
        var onThread = FileLockStripes.waitOnThread
        var wait = FileLockStripes.waitOnThread
        while true {
            let limit = min(onThread, max(clock.now.duration(to: deadline), .zero))
            let result = try await self.perform(key: key, path: path) {
                try locks.withLockIfFree(stripe: stripe, waitingUpTo: limit, body)
            }
            if let result { return result }
            let remaining = clock.now.duration(to: deadline)
            guard remaining > .zero else {
                throw StoreError(
                    .timedOut,
                    "timed out after \(self.configuration.lockTimeout) waiting for the lock of key \(StoreError.describe(key)): "
                        + "\(locks.path(of: stripe)) is held by another task or process"
                )
            }
            try await clock.sleep(for: min(wait, remaining))
            wait = min(wait * 2, FileLockStripes.longestWait)
            onThread = .zero
        }
    }
}
