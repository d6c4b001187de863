public import Synchronization

/// A value behind a `Synchronization.Mutex`, that ThreadSanitizer sees locked.
///
/// On Linux the toolchain's `Mutex` locks with atomics and a futex inside the uninstrumented standard library, so
/// ThreadSanitizer never learns that one `withLock` happens before the next: every value it guards looks raced (a
/// two-thread program appending to a `Mutex<[Int]>` is reported, with this toolchain, Swift 6.3). Stash uses this
/// type instead. Built with `-DSTASH_TSAN` (as `scripts/sanitize.sh` builds for ThreadSanitizer), `withLock` tells
/// ThreadSanitizer what the lock does — `__tsan_acquire` once the lock is held, `__tsan_release` before it is let go,
/// on the mutex's address — so that it checks everything else; otherwise it is the `Mutex` itself, inlined.
@usableFromInline
package struct Locked<Value: ~Copyable>: ~Copyable {
    @usableFromInline let mutex: Mutex<Value>

    /// Creates the lock around its initial value.
    @inlinable
    package init(_ initialValue: consuming sending Value) {
        self.mutex = Mutex(initialValue)
    }

    /// Runs `body` with the value while holding the lock, as `Mutex.withLock` does.
    @inlinable
    package borrowing func withLock<Result: ~Copyable, E: Error>(
        _ body: (inout sending Value) throws(E) -> sending Result
    ) throws(E) -> sending Result {
        #if STASH_TSAN
        // The mutex's own address (a raw-layout value, borrowed in place), taken before the lock: touching the
        // guarded value before the annotation would itself look raced.
        let address = withUnsafePointer(to: self.mutex) { UnsafeMutableRawPointer(mutating: $0) }
        return try self.mutex.withLock { (value: inout sending Value) throws(E) -> sending Result in
            threadSanitizerAcquire(address)
            defer { threadSanitizerRelease(address) }
            return try body(&value)
        }
        #else
        return try self.mutex.withLock(body)
        #endif
    }
}

extension Locked: @unchecked Sendable where Value: ~Copyable {}

#if STASH_TSAN
/// ThreadSanitizer's annotation that the calling thread acquired the synchronization object at `address`.
@usableFromInline @_silgen_name("__tsan_acquire")
func threadSanitizerAcquire(_ address: UnsafeMutableRawPointer)

/// ThreadSanitizer's annotation that the calling thread releases the synchronization object at `address`.
@usableFromInline @_silgen_name("__tsan_release")
func threadSanitizerRelease(_ address: UnsafeMutableRawPointer)
#endif
