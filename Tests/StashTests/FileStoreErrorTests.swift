import Crypto
import Foundation
import NIOCore
import Stash
import StashTestSupport
import StashTesting
import Testing

@Suite struct FileStoreErrorTests {
    @Test func directoryUnderARegularFileCannotBeCreated() async throws {
        try await withFileStoreDirectory { directory in
            try Data("a file".utf8).write(to: URL(fileURLWithPath: directory + "/file"))
            #expect(await fileStoreErrorCode { _ = try FileStore(directory: directory + "/file/store") } == .ioFailure)
            #expect(await fileStoreErrorCode { _ = try FileStore(directory: directory + "/file") } == .ioFailure)
            #expect(await fileStoreErrorCode { _ = try FileStore(directory: "") } == .ioFailure)
        }
    }

    @Test func ioFailureCarriesTheSystemError() async throws {
        try await withFileStoreDirectory { directory in
            try Data("a file".utf8).write(to: URL(fileURLWithPath: directory + "/file"))
            do {
                _ = try FileStore(directory: directory + "/file/store")
                Issue.record("expected an error")
            } catch let error as StoreError {
                #expect(error.code == .ioFailure)
                #expect(error.underlying != nil)
                #expect("\(error)".contains("Not a directory"))
            }
        }
    }

    @Test func fileWhereANamespaceDirectoryMustGoFailsWritesAndChangesNothing() async throws {
        try await withFileStoreDirectory { directory in
            let root = try FileStore(directory: directory)
            let child = try root.withNamespace("blocked")
            try await root.set("k", value: ByteBuffer(string: "root value"))
            try Data("in the way".utf8).write(to: URL(fileURLWithPath: directory + "/blocked.ns"))

            #expect(await fileStoreErrorCode { try await child.set("k", value: ByteBuffer(string: "new")) } == .ioFailure)
            #expect(await fileStoreErrorCode { _ = try await child.insert("k", value: ByteBuffer(string: "new")) } == .ioFailure)
            #expect(await fileStoreErrorCode { _ = try await child.increment("k") } == .ioFailure)
            #expect(await fileStoreErrorCode { _ = try await child.get("k") } == .ioFailure)
            #expect(await fileStoreErrorCode { _ = try await child.keys().collect() } == .ioFailure)
            #expect(try await root.get("k") == ByteBuffer(string: "root value"))
            #expect(ChildProcess.contents(of: directory + "/blocked.ns") == "in the way")
        }
    }

    @Test func failedWriteKeepsTheOldValue() async throws {
        try await withFileStoreDirectory { directory in
            let store = try FileStore(directory: directory)
            try await store.set("k", value: ByteBuffer(string: "old"))
            // Make the rename fail: a non-empty directory sits where the entry file goes.
            let path = directory + "/" + SHA256.hexDigest("other".utf8) + ".entry"
            try FileManager.default.createDirectory(atPath: path + "/x", withIntermediateDirectories: true)
            #expect(await fileStoreErrorCode { try await store.set("other", value: ByteBuffer(string: "new")) } == .ioFailure)
            #expect(try await store.get("k") == ByteBuffer(string: "old"))
            // The failed write cleaned up its temporary file.
            #expect(fileStoreFiles(under: directory).filter { $0.contains(".tmp-") } == [])
        }
    }

    @Test func badInputIsRejectedBeforeAnyIO() async throws {
        try await withFileStoreDirectory { directory in
            let store = try FileStore(directory: directory, configuration: .init(maximumValueSize: 4))
            #expect(await fileStoreErrorCode { try await store.set("", value: ByteBuffer()) } == .invalidKey)
            #expect(await fileStoreErrorCode { try await store.set("k", value: ByteBuffer(string: "12345")) } == .valueTooLarge)
            #expect(await fileStoreErrorCode { try await store.set("k", value: ByteBuffer(), expiresIn: .zero) } == .invalidExpiry)
            #expect(await fileStoreErrorCode { _ = try store.withNamespace("a.b") } == .invalidNamespace)
            #expect(fileStoreFiles(under: directory).allSatisfy { $0.hasPrefix(".locks/") })
        }
    }

    @Test func settingsItCannotWorkWithAreTypedErrorsAndCreateNothing() async throws {
        try await withFileStoreDirectory { directory in
            let bad: [(String, FileStore<WallClock>.Configuration)] = [
                ("negative value size", .init(maximumValueSize: -1)),
                ("group bits beyond the nine", .init(filePermissions: 0o4600)),
                ("an owner who cannot write", .init(filePermissions: 0o400)),
                ("negative lock timeout", .init(lockTimeout: .seconds(-1))),
                ("no sweep interval", .init(sweepInterval: .zero)),
            ]
            for (what, configuration) in bad {
                await expectStoreError([.invalidConfiguration], what) { try FileStore(directory: directory + "/store", configuration: configuration) }
                #expect(!FileManager.default.fileExists(atPath: directory + "/store"), "\(what): no directory made")
            }
        }
    }
}

@Suite struct FileStoreSweepFailureTests {
    @Test func aFailingSweepIsReportedByDeleteExpiredAndRetriedByTheService() async throws {
        try await withFileStoreDirectory { directory in
            let clock = ManualClock()
            let store = try FileStore(directory: directory, clock: clock, configuration: .init(sweepInterval: .seconds(10)))
            try await store.set("expiring", value: ByteBuffer(string: "x"), expiresIn: .seconds(1))
            clock.advance(by: .seconds(2))
            // A regular file where the lock directory belongs: every removal, which takes a key's lock, fails (ENOTDIR).
            let locks = directory + "/.locks"
            try FileManager.default.removeItem(atPath: locks)
            try Data("not a directory".utf8).write(to: URL(fileURLWithPath: locks))

            #expect(await fileStoreErrorCode { try await store.deleteExpired() } == .ioFailure, "deleteExpired reports the failure")
            #expect(Self.entryCount(in: directory) == 1)

            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await store.service.run() }
                for _ in 0..<2 {
                    // Each wait for a sleeper after an advance means a (failing) pass ran and the loop went on.
                    try await waitUntil { clock.sleeperCount == 1 }
                    clock.advance(by: .seconds(10))
                }
                try await waitUntil { clock.sleeperCount == 1 }
                #expect(Self.entryCount(in: directory) == 1, "the failing passes removed nothing")

                try FileManager.default.removeItem(atPath: locks)
                clock.advance(by: .seconds(10))
                try await waitUntil { Self.entryCount(in: directory) == 0 }
                group.cancelAll()
                try await group.waitForAll()
            }
        }
    }

    static func entryCount(in directory: String) -> Int {
        fileStoreFiles(under: directory).filter { $0.hasSuffix(".entry") }.count
    }
}
