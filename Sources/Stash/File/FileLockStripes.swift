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
struct FileLockStripes: Sendable {
    /// The directory holding the lock files.
    let directory: String

    /// The stripe of a key in a namespace (`""` for the root, `"a.ns/b.ns"` for a grandchild).
    static func stripe(namespacePath: String, key: String) -> UInt8 {
        var bytes = Array(namespacePath.utf8)
        bytes.append(0)
        bytes.append(contentsOf: key.utf8)
        return SHA256.hash(bytes)[0]
    }

    /// Runs `body` holding the exclusive lock of a stripe; blocks until the lock is free.
    func withLock<Result>(stripe: UInt8, _ body: () throws -> Result) throws -> Result {
        let path = self.directory + "/" + Self.name(of: stripe)
        let descriptor: Int32
        do {
            descriptor = try FileSystem.openFile(path, flags: O_RDWR | O_CREAT)
        } catch  where error.errorNumber == ENOENT {
            // The lock directory was removed from under the store: make it again.
            try FileSystem.makeDirectories(self.directory)
            descriptor = try FileSystem.openFile(path, flags: O_RDWR | O_CREAT)
        }
        // Closing the descriptor releases the lock; nothing was written to it, so a failing close loses nothing.
        defer { FileSystem.closeReadOnly(descriptor) }
        try FileSystem.lockExclusively(descriptor, path: path)
        return try body()
    }

    private static func name(of stripe: UInt8) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: [digits[Int(stripe >> 4)], digits[Int(stripe & 0x0f)]], as: UTF8.self)
    }
}
