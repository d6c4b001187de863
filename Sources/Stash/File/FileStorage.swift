import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What a ``FileStore`` and all its namespaces share: the root directory, its lock stripes and their queue, and the
/// guard that keeps one sweep loop per root directory in this process.
struct FileStorage: Sendable {
    /// The root directories whose sweep loop runs in this process, by canonical path.
    private static let sweepingRoots = Mutex<Set<String>>([])

    /// The canonical absolute path of the root directory.
    let root: String
    /// The locks of the keys of every namespace under the root.
    let locks: FileLockStripes
    /// The tasks of this process (using this store or its namespaces) waiting for each lock stripe.
    let queue = LockStripeQueue()

    init(root: String, fileMode: mode_t, directoryMode: mode_t) {
        self.root = root
        self.locks = FileLockStripes(directory: root + "/.locks", fileMode: fileMode, directoryMode: directoryMode)
    }

    /// The directory of a namespace, from its path relative to the root.
    func directory(of namespacePath: String) -> String {
        namespacePath.isEmpty ? self.root : self.root + "/" + namespacePath
    }

    /// Claims the right to run the sweep loop of this root; returns `false` when another service of this process
    /// (a namespace of the same root, or another store opened on the same directory) already runs it.
    func claimSweep() -> Bool {
        Self.sweepingRoots.withLock { $0.insert(self.root).inserted }
    }

    func releaseSweep() {
        _ = Self.sweepingRoots.withLock { $0.remove(self.root) }
    }
}
