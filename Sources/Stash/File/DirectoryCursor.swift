#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A directory being read a few names at a time, so that listing a huge namespace never holds all its names.
///
/// It keeps the open `DIR*` between pages: POSIX guarantees that a name neither created nor removed during the
/// walk is returned exactly once, and the walk costs one `readdir` pass however many pages it takes. The stream
/// closes when the walk ends or when the last reference to the cursor goes (an abandoned listing).
final class DirectoryCursor: Sendable {
    #if canImport(Darwin)
    private typealias Stream = UnsafeMutablePointer<DIR>
    #else
    private typealias Stream = OpaquePointer
    #endif

    /// The directory being read.
    let path: String
    private let stream: Locked<Stream?>

    /// Opens a directory.
    /// - Returns: `nil` when the directory does not exist (a namespace nothing was written to yet).
    init?(path: String) throws(FileSystemError) {
        guard let stream = opendir(path) else {
            let error = errno
            if error == ENOENT { return nil }
            throw FileSystemError("opendir", path, errorNumber: error)
        }
        self.path = path
        self.stream = Locked(stream)
    }

    deinit {
        self.stream.withLock { stream in
            if let open = stream { closedir(open) }
        }
    }

    /// Returns the next names of the directory, without `.` and `..`.
    /// - Parameter maximumCount: The most directory entries to read.
    /// - Returns: The names, and whether the end of the directory was reached.
    func next(maximumCount: Int) throws(FileSystemError) -> (names: [String], finished: Bool) {
        try self.stream.withLock { stream throws(FileSystemError) in
            guard let open = stream else { return ([], true) }
            var names: [String] = []
            var read = 0
            while read < maximumCount {
                errno = 0
                guard let entry = readdir(open) else {
                    let error = errno
                    closedir(open)
                    stream = nil
                    if error != 0 { throw FileSystemError("readdir", self.path, errorNumber: error) }
                    return (names, true)
                }
                read += 1
                let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
                let name = String(cString: (UnsafeRawPointer(entry) + nameOffset).assumingMemoryBound(to: CChar.self))
                if name != "." && name != ".." { names.append(name) }
            }
            return (names, false)
        }
    }
}
