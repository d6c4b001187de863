public import NIOCore

extension EventLoopFuture where Value: Sendable {
    /// The future's value, awaited: `get()`, with the hand-over from the event loop to the awaiting task made
    /// visible to ThreadSanitizer.
    ///
    /// With this toolchain (Swift 6.3 on Linux), ThreadSanitizer does not see that resuming a continuation happens
    /// before the resumed task goes on when the resume comes first (the task has not suspended yet): an object made
    /// on one thread and handed to a task only by `resume(returning:)` is reported raced as soon as the task reads it.
    /// A Redis reply is such an object (the TLS handler decrypts it into a buffer it allocates on the event loop), and
    /// the suite under ThreadSanitizer reported it once in a few runs. Built with `-DSTASH_TSAN`, this tells
    /// ThreadSanitizer what the continuation does — `__tsan_release` on the event loop before the resume,
    /// `__tsan_acquire` in the task after it, on the future's address; otherwise it is `get()` itself.
    @inlinable
    package func value() async throws -> Value {
        #if STASH_TSAN
        let address = Unmanaged.passUnretained(self).toOpaque()
        let value = try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Value, any Error>) in
            self.whenComplete { result in
                threadSanitizerRelease(address)
                continuation.resume(with: result)
            }
        }
        threadSanitizerAcquire(address)
        return withExtendedLifetime(self) { value }
        #else
        return try await self.get()
        #endif
    }
}
