import Crypto

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The 256 lock files (`<root>/.locks/00` … `ff`) that serialize the writes of a key across tasks and processes.
///
/// A key's stripe is the first byte of the SHA-256 of its namespace path, a NUL and the key, so every process
/// agrees on it. Each lock is an exclusive `flock` taken on a freshly opened descriptor: `flock` belongs to the open
/// file description, so it excludes other threads of this process as well as other processes, and the kernel
/// releases it when a process dies. The lock files are created on demand and never deleted, because a process
/// locking a deleted file and another locking its replacement would not exclude each other.
///
/// A lock is only ever tried (`LOCK_NB`), never waited for in the kernel: a thread waits for a busy lock at most
/// ``waitOnThread``, and longer waits happen between work items (``FileStore`` `performLocked`, after the tasks of
/// this process wanting the same stripe have lined up in a ``LockStripeQueue``), bounded by
/// ``FileStore/Configuration/lockTimeout``, so a lock held elsewhere never holds a thread.
package struct FileLockStripes: Sendable {
    /// The first wait before trying a busy lock again; each wait doubles, up to ``longestWait``.
    static let firstWait = Duration.microseconds(50)
    /// The longest wait between two tries of a busy lock.
    static let longestWait = Duration.milliseconds(5)
    /// How long a thread waits for a busy lock before giving the thread back: about what another task's write takes,
    /// so a short contention costs no extra work item, yet operations on other keys queued behind are not held up.
    static let waitOnThread = Duration.milliseconds(1)

    /// The directory holding the lock files.
    let directory: String
    /// The modes of the lock files and of their directory, when they are created.
    let fileMode: mode_t
    let directoryMode: mode_t

    /// The stripe of a key in a namespace (`""` for the root, `"a.ns/b.ns"` for a grandchild, as the directory
    /// names go).
    package static func stripe(namespacePath: String, key: String) -> UInt8 {
        var bytes = Array(namespacePath.utf8)
        bytes.append(0)
        bytes.append(contentsOf: key.utf8)
        return SHA256.hash(data: bytes).withUnsafeBytes { $0[0] }
    }

    /// The name of a stripe's lock file in the lock directory: two lowercase hexadecimal digits.
    package static func fileName(of stripe: UInt8) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: [digits[Int(stripe >> 4)], digits[Int(stripe & 0x0f)]], as: UTF8.self)
    }

    /// The path of a stripe's lock file.
    func path(of stripe: UInt8) -> String {
        self.directory + "/" + Self.fileName(of: stripe)
    }

    /// Runs `body` holding the exclusive lock of a stripe, if the lock can be had within `limit`.
    ///
    /// It tries at once, then again after waits of ``firstWait``, doubling, as long as the waits fit in `limit`.
    /// - Returns: What `body` returned, or `nil` when the lock stayed busy (`body` did not run).
    func withLockIfFree<Result>(stripe: UInt8, waitingUpTo limit: Duration, _ body: () throws -> Result) throws -> Result? {
        try self.withLockIfFree(path: self.path(of: stripe), exclusive: true, waitingUpTo: limit, body)
    }

    /// The lock (`<root>/.locks/namespaces`) that keeps a sweep from removing a namespace's directory between a
    /// write's making it and the write's creating its temporary file there (after which the directory is not empty,
    /// and `rmdir` leaves it alone).
    ///
    /// A write holds it shared, only when it has to make the directory; a sweep holds it exclusively for each
    /// `rmdir`. Writes take it after their key's lock and sweeps hold no other lock with it, so no cycle can form.
    var namespacesLockPath: String {
        self.directory + "/namespaces"
    }

    /// Runs `body` holding the namespaces lock (``namespacesLockPath``), shared or exclusive, if it can be had within
    /// `limit`.
    /// - Returns: What `body` returned, or `nil` when the lock stayed busy (`body` did not run).
    func withNamespacesLockIfFree<Result>(exclusive: Bool, waitingUpTo limit: Duration, _ body: () throws -> Result) throws -> Result? {
        try self.withLockIfFree(path: self.namespacesLockPath, exclusive: exclusive, waitingUpTo: limit, body)
    }

    private func withLockIfFree<Result>(
        path: String,
        exclusive: Bool,
        waitingUpTo limit: Duration,
        _ body: () throws -> Result
    ) throws -> Result? {
        let descriptor = try self.openLockFile(path)
        // Closing the descriptor releases the lock; nothing was written to it, so a failing close loses nothing.
        defer { FileSystem.closeReadOnly(descriptor) }
        var waited = Duration.zero
        var wait = Self.firstWait
        while true {
            if try FileSystem.lockIfFree(descriptor, exclusive: exclusive, path: path) { break }
            guard waited + wait <= limit else { return nil }
            Self.sleep(for: wait)
            waited += wait
            wait = min(wait * 2, Self.longestWait)
        }
        return try body()
    }

    /// Opens (creating when needed) a lock file.
    private func openLockFile(_ path: String) throws(FileSystemError) -> Int32 {
        do {
            return try FileSystem.openFile(path, flags: O_RDWR | O_CREAT, mode: self.fileMode)
        } catch  where error.errorNumber == ENOENT {
            // The lock directory was removed from under the store: make it again.
            try FileSystem.makeDirectories(self.directory, mode: self.directoryMode)
            return try FileSystem.openFile(path, flags: O_RDWR | O_CREAT, mode: self.fileMode)
        }
    }

    /// Blocks the calling thread (a pool thread) for a short time.
    private static func sleep(for duration: Duration) {
        let (seconds, attoseconds) = duration.components
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0, errno == EINTR {
            request = remaining
        }
    }
}
