import Foundation
import NIOCore
import NIOPosix
import Stash
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A stripe's lock held through another open file description, as another process holding it would be.
private final class HeldLock: Sendable {
    private let descriptor: Locked<Int32?>

    init(path: String) throws {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        try #require(descriptor >= 0, "open \(path): errno \(errno)")
        try #require(flock(descriptor, LOCK_EX | LOCK_NB) == 0, "flock \(path): errno \(errno)")
        self.descriptor = Locked(descriptor)
    }

    /// Releases the lock (closing the descriptor); later calls do nothing.
    func release() {
        self.descriptor.withLock { descriptor in
            if let open = descriptor { close(open) }
            descriptor = nil
        }
    }

    /// Whether ``release()`` was called.
    var isReleased: Bool { self.descriptor.withLock { $0 == nil } }

    deinit { self.release() }
}

@Suite struct FileStoreLockTimeoutTests {
    /// The lock file of a key of the root namespace.
    static func lockPath(of key: String, in store: FileStore<WallClock>) -> String {
        store.directory + "/.locks/" + FileLockStripes.fileName(of: FileLockStripes.stripe(namespacePath: "", key: key))
    }

    /// A key of the root namespace whose lock stripe is not `key`'s.
    static func key(awayFrom key: String) -> String {
        let stripe = FileLockStripes.stripe(namespacePath: "", key: key)
        return (0...).lazy.map { "other-\($0)" }.first { FileLockStripes.stripe(namespacePath: "", key: $0) != stripe }!
    }

    /// The error an operation throws, or `nil`.
    static func storeError(_ operation: () async throws -> Void) async -> StoreError? {
        do {
            try await operation()
            return nil
        } catch {
            return error as? StoreError
        }
    }

    @Test func writesTimeOutWhileTheirLockIsHeldElsewhere() async throws {
        try await withFileStoreDirectory { directory in
            let store = try FileStore(directory: directory, configuration: .init(lockTimeout: .milliseconds(200)))
            try await store.set("held", value: ByteBuffer(string: "before"))
            let path = Self.lockPath(of: "held", in: store)
            let lock = try HeldLock(path: path)

            let clock = ContinuousClock()
            let writes: [(String, @Sendable () async throws -> Void)] = [
                ("set", { try await store.set("held", value: ByteBuffer(string: "new")) }),
                ("insert", { _ = try await store.insert("held", value: ByteBuffer(string: "new")) }),
                ("increment", { _ = try await store.increment("held") }),
                ("update", { _ = try await store.update("held") { _ in .delete } }),
                ("delete", { try await store.delete("held") }),
                ("renewing get", { _ = try await store.get("held", renewingFor: .seconds(1)) }),
            ]
            for (name, write) in writes {
                let start = clock.now
                let error = await Self.storeError(write)
                let elapsed = start.duration(to: clock.now)
                #expect(error?.code == .timedOut, "\(name) threw \(String(describing: error))")
                #expect(error?.message.contains(path) == true, "\(name): the error names the lock file")
                // It waited for the lock, then gave up: 30 s, far beyond the 200 ms timeout, only tells "gave up" from "hung" on a
                // loaded machine.
                #expect(elapsed >= .milliseconds(190) && elapsed < .seconds(30), "\(name) took \(elapsed)")
            }
            // Reads take no lock, and the value is as it was.
            #expect(try await store.get("held") == ByteBuffer(string: "before"))

            // Released, the lock is free for the next write. Checked through a patient handle on the same directory:
            // a program another test spawns at that moment holds a copy of the lock's descriptor until it starts
            // (`flock` belongs to the open file description, which a spawned child shares until its exec closes the
            // copy), so on a loaded machine the release can take longer to show than the 200 ms timeout above.
            lock.release()
            let patient = try FileStore(directory: directory, configuration: .init(lockTimeout: .seconds(60)))
            try await patient.set("held", value: ByteBuffer(string: "after"))
            #expect(try await store.get("held") == ByteBuffer(string: "after"))
        }
    }

    @Test func aHeldLockDelaysOnlyTheKeysOfItsStripe() async throws {
        try await withFileStoreDirectory { directory in
            // A lock timeout (120 s) far longer than the lock is held: every queued write must get through.
            // A pool of its own, with two threads for 20 blocked writes: other tests' file I/O cannot delay this
            // one, and a write that held a thread while it waited would starve the other stripe at once.
            let pool = NIOThreadPool(numberOfThreads: 2)
            pool.start()
            defer { pool.shutdownGracefully { _ in } }
            let store = try FileStore(directory: directory, configuration: .init(lockTimeout: .seconds(120), threadPool: pool))
            let other = Self.key(awayFrom: "held")
            try await store.set(other, value: ByteBuffer(string: "other"))
            let lock = try HeldLock(path: Self.lockPath(of: "held", in: store))
            let clock = ContinuousClock()
            // Long: on a loaded machine (the whole suite on two cores) a few operations can take seconds. The test
            // releases it as soon as the other stripe's operations are done.
            let holdFor = Duration.seconds(60)
            let released = clock.now.advanced(by: holdFor)

            try await withThrowingTaskGroup(of: Void.self) { group in
                // Release the lock in any case, so that a store that blocks its threads still ends the test.
                group.addTask {
                    while clock.now < released, !lock.isReleased {
                        try await Task.sleep(for: .milliseconds(20))
                    }
                    lock.release()
                }
                for index in 0..<20 {
                    group.addTask { try await store.set("held", value: ByteBuffer(string: "queued \(index)")) }
                }
                try await Task.sleep(for: .milliseconds(100))

                let start = clock.now
                #expect(try await store.get(other) == ByteBuffer(string: "other"))
                try await store.set(other, value: ByteBuffer(string: "written meanwhile"))
                #expect(try await store.exists(other))
                // Not a speed bound (the machine may be busy): they end while the lock is still held, so they did
                // not wait for it.
                let elapsed = start.duration(to: clock.now)
                #expect(clock.now < released, "operations on another stripe waited \(elapsed), until the held lock was released")
                lock.release()

                try await group.waitForAll()
            }
            let value = try #require(try await store.get("held"))
            #expect(String(buffer: value).hasPrefix("queued "))
            #expect(try await store.get(other) == ByteBuffer(string: "written meanwhile"))
        }
    }

    @Test func deleteAllWaitsForABusyLockThenRemovesTheEntry() async throws {
        try await withFileStoreDirectory { directory in
            let store = try FileStore(directory: directory, configuration: .init(lockTimeout: .milliseconds(200)))
            let other = Self.key(awayFrom: "held")
            try await store.set("held", value: ByteBuffer(string: "x"))
            try await store.set(other, value: ByteBuffer(string: "y"))
            let lock = try HeldLock(path: Self.lockPath(of: "held", in: store))

            // Held past the timeout: the entry stays, the others go, and the timeout is reported.
            #expect(await Self.storeError { try await store.deleteAll() }?.code == .timedOut)
            #expect(try await store.keys().collect() == ["held"])

            // Released while deleteAll waits: the entry goes too.
            try await store.set(other, value: ByteBuffer(string: "y"))
            let slow = try FileStore(directory: directory, configuration: .init(lockTimeout: .seconds(10)))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await Task.sleep(for: .milliseconds(300))
                    lock.release()
                }
                try await slow.deleteAll()
                try await group.waitForAll()
            }
            #expect(try await store.keys().collect() == [])
        }
    }
}
