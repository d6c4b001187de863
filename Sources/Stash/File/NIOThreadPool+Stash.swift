import NIOCore
public import NIOPosix

extension NIOThreadPool {
    /// The pool that file stores and persisters run their blocking file I/O on unless configured otherwise.
    ///
    /// It is Stash's own, not `NIOThreadPool.singleton`: that pool has one thread per core and serves NIO's file
    /// system too, so a few operations blocked on a slow disk would stall the whole application's file I/O, and the
    /// application's file I/O would stall the stores. It has at least 8 threads, twice the cores on larger machines,
    /// because its work items block in system calls rather than compute. Waiting for a busy file lock never holds
    /// one of its threads (see ``FileStore/Configuration/lockTimeout``).
    ///
    /// Like the singleton, it is process-wide: started on first use and never shut down, since any number of stores,
    /// in any number of services, may use it until the process exits, and none of them owns it.
    @usableFromInline
    static let stash: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: Swift.max(8, 2 * System.coreCount))
        pool.start()
        return pool
    }()
}
