#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed system call of a ``FileStore``: which call, on which path, and the `errno` it set.
///
/// It is the `underlying` error of the ``StoreError/Code/ioFailure`` errors the store throws.
struct FileSystemError: Error, Sendable, CustomStringConvertible {
    /// The system call, such as `open` or `rename`.
    let operation: String
    /// The file or directory it was called on.
    let path: String
    /// The `errno` it set.
    let errorNumber: Int32

    /// Creates an error from the current `errno`; call it right after the failing system call.
    init(_ operation: String, _ path: String, errorNumber: Int32 = errno) {
        self.operation = operation
        self.path = path
        self.errorNumber = errorNumber
    }

    var description: String {
        "\(self.operation)(\(self.path)): \(String(cString: strerror(self.errorNumber))) (errno \(self.errorNumber))"
    }

    /// The error a store throws for this failure.
    var storeError: StoreError {
        StoreError(.ioFailure, "file store I/O failed: \(self.operation) \(self.path)", underlying: self)
    }
}
