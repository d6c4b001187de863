import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The blocking POSIX calls a ``FileStore`` makes, retried on `EINTR` and turned into ``FileSystemError``s.
///
/// Every function blocks: call them only from a thread pool work item, never from Swift's cooperative pool.
enum FileSystem {
    /// Opens a file (always close-on-exec, so worker processes never inherit a lock).
    /// - Parameter mode: The permission bits of a file that `O_CREAT` creates, before the umask.
    static func openFile(_ path: String, flags: Int32, mode: mode_t = 0o600) throws(FileSystemError) -> Int32 {
        while true {
            let descriptor = open(path, flags | O_CLOEXEC, mode)
            if descriptor >= 0 { return descriptor }
            let error = errno
            if error != EINTR { throw FileSystemError("open", path, errorNumber: error) }
        }
    }

    /// Closes a descriptor, reporting a failure (a deferred write error on some file systems).
    static func closeFile(_ descriptor: Int32, path: String) throws(FileSystemError) {
        // Linux closes the descriptor even when close fails with EINTR: never retry.
        guard close(descriptor) == 0 else { throw FileSystemError("close", path) }
    }

    /// Closes a descriptor whose close cannot lose data (one opened for reading or locking).
    static func closeReadOnly(_ descriptor: Int32) {
        _ = close(descriptor)
    }

    /// Returns the status of an open file.
    static func status(of descriptor: Int32, path: String) throws(FileSystemError) -> stat {
        var result = stat()
        guard fstat(descriptor, &result) == 0 else { throw FileSystemError("fstat", path) }
        return result
    }

    /// Returns the status of a path without following a final symbolic link, or `nil` when it does not exist.
    static func linkStatus(_ path: String) throws(FileSystemError) -> stat? {
        var result = stat()
        guard lstat(path, &result) == 0 else {
            let error = errno
            if error == ENOENT { return nil }
            throw FileSystemError("lstat", path, errorNumber: error)
        }
        return result
    }

    /// Appends up to `count` bytes read from a descriptor to a buffer, stopping early only at the end of the file.
    static func readBytes(_ descriptor: Int32, into buffer: inout ByteBuffer, count: Int, path: String) throws(FileSystemError) {
        var remaining = count
        while remaining > 0 {
            var result = 0
            var error: Int32 = 0
            let wanted = remaining
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: wanted) { pointer in
                result = read(descriptor, pointer.baseAddress, wanted)
                if result < 0 { error = errno }
                return max(result, 0)
            }
            if result < 0 {
                if error == EINTR { continue }
                throw FileSystemError("read", path, errorNumber: error)
            }
            if result == 0 { return }
            remaining -= result
        }
    }

    /// Writes every readable byte of a buffer to a descriptor.
    static func writeBytes(_ descriptor: Int32, _ buffer: ByteBuffer, path: String) throws(FileSystemError) {
        var written = 0
        let total = buffer.readableBytes
        while written < total {
            var error: Int32 = 0
            let result = buffer.withUnsafeReadableBytes { bytes in
                let count = write(descriptor, bytes.baseAddress! + written, total - written)
                if count < 0 { error = errno }
                return count
            }
            if result < 0 {
                if error == EINTR { continue }
                throw FileSystemError("write", path, errorNumber: error)
            }
            written += result
        }
    }

    /// Flushes a file's data and metadata to the device.
    static func synchronize(_ descriptor: Int32, path: String) throws(FileSystemError) {
        while fsync(descriptor) != 0 {
            let error = errno
            if error != EINTR { throw FileSystemError("fsync", path, errorNumber: error) }
        }
    }

    /// Takes an exclusive or shared `flock` on a descriptor if no other open file description holds a conflicting
    /// one; never waits.
    /// - Returns: `false` when the lock is held elsewhere.
    static func lockIfFree(_ descriptor: Int32, exclusive: Bool, path: String) throws(FileSystemError) -> Bool {
        while flock(descriptor, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0 {
            let error = errno
            if error == EWOULDBLOCK { return false }
            if error != EINTR { throw FileSystemError("flock", path, errorNumber: error) }
        }
        return true
    }

    /// Renames a file, atomically replacing the target.
    static func renameFile(_ source: String, to target: String) throws(FileSystemError) {
        guard rename(source, target) == 0 else { throw FileSystemError("rename", target) }
    }

    /// Removes a file (or a symbolic link, never its target).
    /// - Returns: `false` when there was nothing to remove.
    @discardableResult
    static func removeFile(_ path: String) throws(FileSystemError) -> Bool {
        guard unlink(path) == 0 else {
            let error = errno
            if error == ENOENT { return false }
            throw FileSystemError("unlink", path, errorNumber: error)
        }
        return true
    }
}
