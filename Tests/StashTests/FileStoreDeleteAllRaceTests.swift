import Foundation
import NIOCore
import Stash
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite struct FileStoreDeleteAllRaceTests {
    /// What the racing tasks share: when to stop, and how many writes and directory removals were done.
    final class Race: Sendable {
        let stopped = Atomic<Bool>(false)
        let writes = Atomic<Int>(0)
        let removals = Atomic<Int>(0)
        let removerFinished = Atomic<Bool>(false)
    }

    @Test func childWritesRacingAParentsDeleteAllNeverFail() async throws {
        try await withFileStoreDirectory { directory in
            let root = try FileStore(directory: directory)
            // Children and grandchildren: a write may find its directory, or its parent's, removed under it.
            let writers = try (0..<4).map { index in
                let child = try root.withNamespace("child\(index)")
                return index.isMultiple(of: 2) ? child : try child.withNamespace("grandchild")
            }
            let race = Race()
            let clock = ContinuousClock()
            let start = clock.now

            let (sweeps, failures) = try await withThrowingTaskGroup(of: (sweeps: Int, failures: [String]).self) { group in
                // At least a second, 20 sweeps and 2,000 writes, whichever takes longest (a loaded machine is slow),
                // but never more than 60 seconds.
                group.addTask {
                    var sweeps = 0
                    while sweeps < 20 || race.writes.load(ordering: .relaxed) < 2_000 || clock.now < start + .seconds(1),
                        clock.now < start + .seconds(60)
                    {
                        try await root.deleteAll()
                        sweeps += 1
                    }
                    race.stopped.store(true, ordering: .relaxed)
                    return (sweeps, [])
                }
                for (index, writer) in writers.enumerated() {
                    group.addTask {
                        var failures: [String] = []
                        var round = 0
                        while !race.stopped.load(ordering: .relaxed) {
                            do {
                                try await writer.set("key-\(round % 8)", value: ByteBuffer(string: "value \(index)-\(round)"))
                            } catch {
                                failures.append("\(error)")
                            }
                            race.writes.add(1, ordering: .relaxed)
                            round += 1
                        }
                        return (0, failures)
                    }
                }
                return try await group.reduce(into: (sweeps: 0, failures: [String]())) { total, tally in
                    total.sweeps += tally.sweeps
                    total.failures += tally.failures
                }
            }
            let writes = race.writes.load(ordering: .relaxed)
            #expect(failures.isEmpty, "\(failures.count) of \(writes) writes failed: \(failures.prefix(3))")
            #expect(sweeps >= 20 && writes >= 2_000, "\(sweeps) sweeps and \(writes) writes in 60 seconds")
        }
    }

    /// A sweep's `rmdir` of an emptied namespace directory, done as fast as a thread can (as another process sweeping
    /// the same directory in a loop would, with the same lock), while writes keep emptying and refilling it.
    @Test func writesIntoADirectoryBeingRemovedNeverFail() async throws {
        try await withFileStoreDirectory { directory in
            let root = try FileStore(directory: directory)
            let child = try root.withNamespace("child")
            let grandchild = try child.withNamespace("grandchild")
            let race = Race()
            let lockPath = root.directory + "/.locks/namespaces"
            let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            try #require(descriptor >= 0)
            defer { close(descriptor) }
            let remover = Thread {
                while !race.stopped.load(ordering: .relaxed) {
                    flock(descriptor, LOCK_EX)
                    for path in [grandchild.directory, child.directory] where rmdir(path) == 0 {
                        race.removals.add(1, ordering: .relaxed)
                    }
                    flock(descriptor, LOCK_UN)
                }
                race.removerFinished.store(true, ordering: .releasing)
            }
            remover.start()
            let clock = ContinuousClock()
            let start = clock.now

            let failures = try await withThrowingTaskGroup(of: [String].self) { group in
                for index in 0..<2 {
                    group.addTask {
                        var failures: [String] = []
                        var round = 0
                        // At least 500 writes each and 100 removals of the directories (a loaded machine is slow),
                        // 45 seconds at most.
                        while round < 500 || race.removals.load(ordering: .relaxed) < 100, clock.now < start + .seconds(45) {
                            do {
                                try await grandchild.set("key-\(index)", value: ByteBuffer(string: "value \(index)-\(round)"))
                                try await grandchild.delete("key-\(index)")
                            } catch {
                                failures.append("\(error)")
                            }
                            race.writes.add(1, ordering: .relaxed)
                            round += 1
                        }
                        return failures
                    }
                }
                return try await group.reduce(into: [String]()) { $0 += $1 }
            }
            race.stopped.store(true, ordering: .relaxed)
            // The descriptor is closed when this closure returns: the thread must be done with it.
            while !race.removerFinished.load(ordering: .acquiring) {
                try await Task.sleep(for: .milliseconds(1))
            }
            let writes = race.writes.load(ordering: .relaxed)
            let removals = race.removals.load(ordering: .relaxed)
            #expect(failures.isEmpty, "\(failures.count) of \(writes) writes failed: \(failures.prefix(3))")
            #expect(removals >= 100, "the directories were removed \(removals) times during \(writes) writes")
        }
    }
}
