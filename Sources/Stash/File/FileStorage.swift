#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What a ``FileStore`` and all its namespaces share: the root directory, its lock stripes and their queue, and the
/// client whose service (the sweep) they run once.
struct FileStorage: Sendable {

    /// The canonical absolute path of the root directory.
    let root: String
    /// The locks of the keys of every namespace under the root.
    let locks: FileLockStripes
    /// The tasks of this process (using this store or its namespaces) waiting for each lock stripe.
    let queue = LockStripeQueue()
    /// The owner of the service (the sweep) the store and its namespaces share.
    let serviceOwner: StoreService.Owner

    init(root: String, fileMode: mode_t, directoryMode: mode_t) {
        self.root = root
        self.locks = FileLockStripes(directory: root + "/.locks", fileMode: fileMode, directoryMode: directoryMode)
        self.serviceOwner = StoreService.Owner("the FileStore at \(root)")
    }

    /// The directory of a namespace, from its path relative to the root.
    func directory(of namespacePath: String) -> String {
        namespacePath.isEmpty ? self.root : self.root + "/" + namespacePath
    }
}
