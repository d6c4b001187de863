import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Stash
import StashTestSupport
import StashTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct PersisterAutomaticTests {
    /// The identity (inode) of the file at a path, to tell whether a save replaced it.
    static func inode(_ path: String) -> UInt64? {
        (try? FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? UInt64) ?? nil
    }

    /// What a fresh store loads from the file.
    static func loaded(_ path: String) async throws -> MemoryStore<ContinuousClock> {
        let store = MemoryStore()
        try await Persister(store: store, path: path).load()
        return store
    }

    /// Runs services in a service group for the body's duration, then shuts them down gracefully.
    static func running(_ services: any Service..., body: () async throws -> Void) async throws {
        let group = ServiceGroup(configuration: .init(services: services, logger: Logger(label: "test")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await body()
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    @Test func savesAfterChangesOncePerIntervalAndAtShutdown() async throws {
        try await withFileStoreDirectory { directory in
            let path = directory + "/store.snapshot"
            let clock = ManualClock()
            let store = MemoryStore(clock: clock)
            let persister = Persister(store: store, path: path, configuration: .init(autoSave: true, saveInterval: .seconds(1)))
            /// Lets one interval pass and waits until both loops have done their step and sleep again.
            func tick() async throws {
                try await waitUntil { clock.sleeperCount == 2 }
                clock.advance(by: .seconds(1))
                try await waitUntil { clock.sleeperCount == 2 }
            }

            try await Self.running(persister) {
                try await tick()
                #expect(Self.inode(path) == nil, "nothing changed: nothing is written")

                for key in ["a", "b", "c"] {
                    try await store.set(key, value: ByteBuffer(string: key))
                }
                try await tick()
                let first = try #require(Self.inode(path), "changes are saved within one interval")
                #expect(Set(try await Self.loaded(path).keys().collect()) == ["a", "b", "c"], "three changes, one save")

                try await tick()
                #expect(Self.inode(path) == first, "no change since the last save: no new save")

                persister.stopAutoSave()
                try await store.set("d", value: ByteBuffer(string: "d"))
                try await tick()
                #expect(Self.inode(path) == first, "stopped: changes are not saved")
                persister.startAutoSave()
                try await tick()
                #expect(try await Self.loaded(path).get("d") == ByteBuffer(string: "d"), "started again: saved")

                try await store.set("e", value: ByteBuffer(string: "e"))
            }
            #expect(try await Self.loaded(path).get("e") == ByteBuffer(string: "e"), "graceful shutdown saves the last changes")
        }
    }

    @Test func loadsWhatAnotherWriterSavesButNeverItsOwnSnapshot() async throws {
        try await withFileStoreDirectory { directory in
            let path = directory + "/store.snapshot"
            let clock = ManualClock()
            let writerStore = MemoryStore(clock: clock)
            let readerStore = MemoryStore(clock: clock)
            let writer = Persister(store: writerStore, path: path, configuration: .init(autoSave: true, saveInterval: .seconds(1)))
            // The reader also saves, rarely: its own snapshots must never be loaded back over newer changes.
            let reader = Persister(
                store: readerStore,
                path: path,
                configuration: .init(autoSave: true, autoLoad: true, saveInterval: .seconds(10), loadInterval: .seconds(1))
            )
            func tick(_ duration: Duration = .seconds(1)) async throws {
                try await waitUntil { clock.sleeperCount == 4 }
                clock.advance(by: duration)
                try await waitUntil { clock.sleeperCount == 4 }
            }

            try await Self.running(writer, reader) {
                try await writerStore.set("from writer", value: ByteBuffer(string: "w"))
                try await tick()  // the writer saves (the reader may look before or after)
                try await tick()  // the reader has certainly looked since
                #expect(try await readerStore.get("from writer") == ByteBuffer(string: "w"), "another writer's snapshot is loaded")

                writer.stopAutoSave()
                try await readerStore.set("reader's", value: ByteBuffer(string: "r1"))
                try await tick(.seconds(10))  // the reader saves its own snapshot
                try await readerStore.set("unsaved", value: ByteBuffer(string: "r2"))
                try await tick()
                try await tick()
                #expect(try await readerStore.get("unsaved") == ByteBuffer(string: "r2"), "its own snapshot is never loaded back")
                #expect(try await readerStore.get("reader's") == ByteBuffer(string: "r1"))
            }
        }
    }

    @Test func anotherProcessSeesAutoSavedWritesWithinBoundedTime() async throws {
        try await withFileStoreDirectory { directory in
            let path = directory + "/shared.snapshot"
            let worker = try ChildProcess.worker(["persist-writer", path, "200"])
            defer { worker.forceStop() }
            #expect(try await worker.waitForLine("ready"), "worker output: \(worker.output)")

            let store = MemoryStore()
            let persister = Persister(store: store, path: path, configuration: .init(autoLoad: true, loadInterval: .milliseconds(20)))
            try await Self.running(persister) {
                let deadline = ContinuousClock.now + .seconds(20)
                while try await store.get("k199") == nil, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(10))
                }
                #expect(try await store.get("k199") == ByteBuffer(string: "v199"), "the other process's last write arrived")
                #expect(try await store.keys().collect().count == 200)
            }
        }
    }

    @Test func aProcessKilledWhileSavingLeavesALoadableSnapshot() async throws {
        try await withFileStoreDirectory { directory in
            let path = directory + "/store.snapshot"
            var loads = 0
            for round in 0..<6 {
                let worker = try ChildProcess.worker(["persist-loop", path])
                #expect(try await worker.waitForLine("ready"), "worker output: \(worker.output)")
                try await Task.sleep(for: .milliseconds(Int64(50 + round * 60)))
                worker.forceStop()
                _ = try await worker.waitForExit(timeout: .seconds(10))

                guard FileManager.default.fileExists(atPath: path) else { continue }
                let store = try await Self.loaded(path)  // throws if the snapshot were torn
                loads += 1
                let values = Set(try await store.keys().collect().asyncMap { try await store.get($0) })
                #expect(store.count == 1_000, "round \(round): a whole snapshot")
                #expect(values.count == 1, "round \(round): every entry from one generation, not a mix")
            }
            #expect(loads >= 3, "the worker saved before most kills")
        }
    }
}

extension Array where Element: Sendable {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
