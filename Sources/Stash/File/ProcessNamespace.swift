#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The PID namespace this process runs in, so that a process id read from a file is only trusted when it was
/// written by a process of the same namespace (two containers sharing a directory have overlapping pids).
enum ProcessNamespace {
    /// The namespace's identifier: the inode of `/proc/self/ns/pid` on Linux (`pid:[4026531836]` gives
    /// `4026531836`), `host` where the system has no PID namespaces.
    static let current: String = {
        var buffer = [CChar](repeating: 0, count: 64)
        let count = readlink("/proc/self/ns/pid", &buffer, buffer.count - 1)
        guard count > 0 else { return "host" }
        let link = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let digits = link.filter(\.isNumber)
        return digits.isEmpty ? "host" : digits
    }()
}
