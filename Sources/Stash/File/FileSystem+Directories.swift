#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension FileSystem {
    /// Creates a directory and any missing parents (`mkdir -p`).
    /// - Parameters:
    ///   - path: The directory to create.
    ///   - mode: The permission bits of each directory created (before the umask); existing ones keep theirs.
    ///   - synchronize: Whether to flush each parent that gains a directory, so the new directory survives a crash.
    /// - Throws: A ``FileSystemError``, `ENOTDIR` when something other than a directory is in the way.
    static func makeDirectories(_ path: String, mode: mode_t = 0o700, synchronize: Bool = false) throws(FileSystemError) {
        if mkdir(path, mode) == 0 {
            if synchronize { try self.synchronizeDirectory(self.parent(of: path)) }
            return
        }
        switch errno {
        case EEXIST:
            guard let status = try self.linkStatus(path), status.st_mode & S_IFMT == S_IFDIR else {
                // A symbolic link to a directory is fine too: follow it once.
                var followed = stat()
                guard stat(path, &followed) == 0, followed.st_mode & S_IFMT == S_IFDIR else {
                    throw FileSystemError("mkdir", path, errorNumber: ENOTDIR)
                }
                return
            }
        case ENOENT:
            let parent = self.parent(of: path)
            guard parent != path, !parent.isEmpty else { throw FileSystemError("mkdir", path, errorNumber: ENOENT) }
            try self.makeDirectories(parent, mode: mode, synchronize: synchronize)
            guard mkdir(path, mode) == 0 || errno == EEXIST else { throw FileSystemError("mkdir", path) }
            if synchronize { try self.synchronizeDirectory(parent) }
        case let error:
            throw FileSystemError("mkdir", path, errorNumber: error)
        }
    }

    /// Flushes a directory, so the names created, renamed or removed in it survive a crash.
    static func synchronizeDirectory(_ path: String) throws(FileSystemError) {
        let descriptor = try self.openFile(path, flags: O_RDONLY | O_DIRECTORY)
        defer { self.closeReadOnly(descriptor) }
        try self.synchronize(descriptor, path: path)
    }

    /// Removes an empty directory.
    /// - Returns: `false` when the directory is missing or not empty (a write or a stranger's file arrived).
    @discardableResult
    static func removeDirectory(_ path: String) throws(FileSystemError) -> Bool {
        guard rmdir(path) == 0 else {
            let error = errno
            if error == ENOENT || error == ENOTEMPTY || error == EEXIST { return false }
            throw FileSystemError("rmdir", path, errorNumber: error)
        }
        return true
    }

    /// Returns whether a path is a directory itself, not a symbolic link to one (so a tree walk never leaves the tree).
    static func isDirectory(_ path: String) throws(FileSystemError) -> Bool {
        guard let status = try self.linkStatus(path) else { return false }
        return status.st_mode & S_IFMT == S_IFDIR
    }

    /// Returns the absolute path without symbolic links, `.` or `..`.
    static func canonicalPath(_ path: String) throws(FileSystemError) -> String {
        guard let resolved = realpath(path, nil) else { throw FileSystemError("realpath", path) }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The directory holding a path: `"/a"` for `"/a/b"`, `"/"` for `"/a"`, `"."` for `"a"`.
    static func parent(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        if slash == trimmed.startIndex { return "/" }
        return String(trimmed[..<slash])
    }
}
