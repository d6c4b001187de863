import Crypto
import Foundation
import NIOCore
import NIOPosix
import Stash
import StashTesting
import Testing

@Suite struct FileStorePersistenceTests {
    @Test func anotherInstanceReadsWhatTheFirstWrote() async throws {
        try await withFileStoreDirectory { directory in
            let clock = ManualClock()
            let first = try FileStore(directory: directory, clock: clock)
            try await first.set("forever", value: ByteBuffer(string: "kept"))
            try await first.set("short", value: ByteBuffer(string: "brief"), expiresIn: .milliseconds(200))
            try await first.set("long", value: ByteBuffer(string: "hour"), expiresIn: .seconds(3600))
            #expect(try await first.increment("counter", by: 5, expiresIn: .seconds(60)) == 5)
            try await first.withNamespace("child").set("nested", value: ByteBuffer(string: "in child"))

            // A second store on the same directory (as after a restart) whose clock reads the same wall-clock time.
            let second = try FileStore(directory: directory, clock: ManualClock(now: clock.now))
            #expect(try await second.get("forever") == ByteBuffer(string: "kept"))
            #expect(try await second.get("short") == ByteBuffer(string: "brief"))
            #expect(try await second.expiry(of: "forever") == .never)
            #expect(try await second.expiry(of: "short") == .expiresIn(.milliseconds(200)))
            #expect(try await second.expiry(of: "long") == .expiresIn(.seconds(3600)))
            #expect(try await second.increment("counter") == 6)
            #expect(try await second.expiry(of: "counter") == .expiresIn(.seconds(60)))
            #expect(try await second.withNamespace("child").get("nested") == ByteBuffer(string: "in child"))

            // Expiry times are absolute: a store whose clock is later sees them expired.
            let later = try FileStore(directory: directory, clock: ManualClock(now: clock.now.advanced(by: .seconds(120))))
            #expect(try await later.get("short") == nil)
            #expect(try await later.get("counter") == nil)
            #expect(try await later.expiry(of: "long") == .expiresIn(.seconds(3600 - 120)))
            #expect(try await later.get("forever") == ByteBuffer(string: "kept"))
            // ...and removed the expired files when it read them.
            #expect(try await first.get("short") == nil)
            clock.advance(by: .seconds(120))
            #expect(Set(try await first.keys().collect()) == ["forever", "long"])
        }
    }

    @Test func realTimeExpiryAcrossInstances() async throws {
        try await withFileStoreDirectory { directory in
            let first = try FileStore(directory: directory)
            let start = ContinuousClock.now
            try await first.set("short", value: ByteBuffer(string: "brief"), expiresIn: .seconds(1))
            let second = try FileStore(directory: directory)
            let value = try await second.get("short")
            // On a loaded machine the second read may come after the expiry; only a timely one must see the value.
            if ContinuousClock.now - start < .milliseconds(900) {
                #expect(value == ByteBuffer(string: "brief"))
            }
            try await Task.sleep(until: start + .milliseconds(1500))
            #expect(try await second.get("short") == nil)
            #expect(try await first.exists("short") == false)
            #expect(fileStoreFiles(under: directory).allSatisfy { $0.hasPrefix(".locks/") })
        }
    }

    @Test func renewingRewritesTheExpiryOnDisk() async throws {
        try await withFileStoreDirectory { directory in
            let clock = ManualClock()
            let store = try FileStore(directory: directory, clock: clock)
            try await store.set("session", value: ByteBuffer(string: "data"), expiresIn: .seconds(10))
            clock.advance(by: .seconds(8))
            #expect(try await store.get("session", renewingFor: .seconds(10)) == ByteBuffer(string: "data"))
            let reopened = try FileStore(directory: directory, clock: ManualClock(now: clock.now))
            #expect(try await reopened.expiry(of: "session") == .expiresIn(.seconds(10)))
        }
    }

    @Test func deleteExpiredRemovesFilesThroughoutTheTree() async throws {
        try await withFileStoreDirectory { directory in
            let clock = ManualClock()
            let root = try FileStore(directory: directory, clock: clock)
            let child = try root.withNamespace("a")
            let grandchild = try child.withNamespace("b")
            for store in [root, child, grandchild] {
                try await store.set("expiring", value: ByteBuffer(string: "x"), expiresIn: .seconds(1))
                try await store.set("kept", value: ByteBuffer(string: "x"))
            }
            clock.advance(by: .seconds(2))
            try await child.deleteExpired()
            // The child's sweep walks the child and the grandchild, never the parent.
            #expect(FileManager.default.fileExists(atPath: root.directory + "/" + SHA256.hexDigest("expiring".utf8) + ".entry"))
            #expect(!FileManager.default.fileExists(atPath: child.directory + "/" + SHA256.hexDigest("expiring".utf8) + ".entry"))
            #expect(!FileManager.default.fileExists(atPath: grandchild.directory + "/" + SHA256.hexDigest("expiring".utf8) + ".entry"))
            try await root.deleteExpired()
            let entries = fileStoreFiles(under: directory).filter { !$0.hasPrefix(".locks/") }
            #expect(entries.count == 3)
        }
    }

    @Test func deleteExpiredRemovesOnlyStaleTemporaryFiles() async throws {
        try await withFileStoreDirectory { directory in
            let root = try FileStore(directory: directory)
            let child = try root.withNamespace("child")
            try await child.set("k", value: ByteBuffer(string: "v"))
            let ourself = ProcessInfo.processInfo.processIdentifier
            let dead = child.directory + "/" + FileStore<WallClock>.temporaryName(pid: Int32.max)
            let old = child.directory + "/" + FileStore<WallClock>.temporaryName(pid: ourself)
            let fresh = child.directory + "/" + FileStore<WallClock>.temporaryName(pid: ourself)
            let alive = root.directory + "/" + FileStore<WallClock>.temporaryName(pid: 1)  // pid 1 always exists
            // A writer in another PID namespace (another container sharing the directory): its pid means nothing
            // here, so only age can make its file stale.
            let foreign = root.directory + "/.tmp-\(Int32.max)@1-0123abcd"
            let foreignOld = root.directory + "/.tmp-\(Int32.max)@1-4567cdef"
            for path in [dead, old, fresh, alive, foreign, foreignOld] {
                try Data("partial".utf8).write(to: URL(fileURLWithPath: path))
            }
            for path in [old, foreignOld] {
                try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -7200)], ofItemAtPath: path)
            }

            try await root.deleteExpired()
            #expect(!FileManager.default.fileExists(atPath: dead), "a dead writer's file goes")
            #expect(!FileManager.default.fileExists(atPath: old), "a file over an hour old goes")
            #expect(FileManager.default.fileExists(atPath: fresh), "a live writer's fresh file stays")
            #expect(FileManager.default.fileExists(atPath: alive))
            #expect(FileManager.default.fileExists(atPath: foreign), "another namespace's fresh file stays")
            #expect(!FileManager.default.fileExists(atPath: foreignOld), "another namespace's old file goes")
            #expect(try await child.get("k") == ByteBuffer(string: "v"))
        }
    }

    @Test func serviceSweepsTheWholeTree() async throws {
        try await withFileStoreDirectory { directory in
            // A pool of its own: in the whole suite, other tests' file I/O queued on the shared pool delayed every
            // sweep of this one past its deadline (seen once in CI).
            let pool = NIOThreadPool(numberOfThreads: 2)
            pool.start()
            defer { pool.shutdownGracefully { _ in } }
            let root = try FileStore(directory: directory, configuration: .init(sweepInterval: .milliseconds(50), threadPool: pool))
            let child = try root.withNamespace("child")
            try await root.set("expiring", value: ByteBuffer(string: "x"), expiresIn: .milliseconds(100))
            try await child.set("expiring", value: ByteBuffer(string: "x"), expiresIn: .milliseconds(100))
            try await child.set("kept", value: ByteBuffer(string: "x"))

            try await withThrowingTaskGroup(of: Void.self) { group in
                // Running a namespace's service sweeps from the root.
                #expect(child.service == root.service)
                group.addTask { try await child.service.run() }
                let deadline = ContinuousClock.now + .seconds(10)
                while fileStoreFiles(under: directory).filter({ !$0.hasPrefix(".locks/") }).count > 1, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(20))
                }
                group.cancelAll()
                try await group.waitForAll()
            }
            #expect(fileStoreFiles(under: directory).filter { !$0.hasPrefix(".locks/") } == ["child.ns/" + SHA256.hexDigest("kept".utf8) + ".entry"])
        }
    }
}
