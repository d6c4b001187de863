import Crypto
import Foundation
import NIOCore
import Stash
import Testing

@Suite struct FileStoreCorruptionTests {
    /// Stores a victim key (with an expiry, so every header field is in use) and two others.
    private func makeStore(in directory: String) async throws -> (FileStore<WallClock>, victimPath: String) {
        let store = try FileStore(directory: directory)
        try await store.set("victim", value: ByteBuffer(string: "the victim's value, long enough to damage"), expiresIn: .seconds(3600))
        try await store.set("other-1", value: ByteBuffer(string: "one"))
        try await store.set("other-2", value: ByteBuffer(string: "two"), expiresIn: .seconds(3600))
        return (store, directory + "/" + SHA256.hexDigest("victim".utf8) + ".entry")
    }

    /// Checks that the victim reads as corrupt, that other keys are untouched, and that `set` repairs the victim.
    private func expectOnlyVictimCorrupt(_ store: FileStore<WallClock>) async throws {
        #expect(await fileStoreErrorCode { _ = try await store.get("victim") } == .corruptEntry)
        #expect(await fileStoreErrorCode { _ = try await store.exists("victim") } == .corruptEntry)
        #expect(await fileStoreErrorCode { _ = try await store.increment("victim") } == .corruptEntry)
        #expect(await fileStoreErrorCode { _ = try await store.update("victim") { _ in .unchanged } } == .corruptEntry)
        #expect(try await store.get("other-1") == ByteBuffer(string: "one"))
        #expect(try await store.get("other-2") == ByteBuffer(string: "two"))
        let listed = try await store.keys().collect()
        #expect(listed.contains("other-1") && listed.contains("other-2"))
        #expect(listed.filter { $0 == "other-1" }.count == 1)

        try await store.set("victim", value: ByteBuffer(string: "repaired"))
        #expect(try await store.get("victim") == ByteBuffer(string: "repaired"))
        #expect(Set(try await store.keys().collect()) == ["victim", "other-1", "other-2"])
    }

    @Test(arguments: [0, 1, 4, 5, 13, 17, 20, 40, -4, -1])
    func truncatedFileIsCorrupt(length: Int) async throws {
        try await withFileStoreDirectory { directory in
            let (store, path) = try await self.makeStore(in: directory)
            let size = try #require(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
            let handle = try #require(FileHandle(forUpdatingAtPath: path))
            try handle.truncate(atOffset: UInt64(length >= 0 ? length : size + length))
            try handle.close()
            try await self.expectOnlyVictimCorrupt(store)
        }
    }

    @Test(arguments: [0, 3, 4, 5, 9, 13, 16, 17, 22, 40, -5, -1])
    func flippedByteIsCorrupt(offset: Int) async throws {
        try await withFileStoreDirectory { directory in
            let (store, path) = try await self.makeStore(in: directory)
            var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            let index = offset >= 0 ? offset : bytes.count + offset
            bytes[index] ^= 0x01
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            try await self.expectOnlyVictimCorrupt(store)
        }
    }

    @Test func foreignFileIsCorrupt() async throws {
        try await withFileStoreDirectory { directory in
            let (store, path) = try await self.makeStore(in: directory)
            try Data("hello".utf8).write(to: URL(fileURLWithPath: path))
            try await self.expectOnlyVictimCorrupt(store)
        }
    }

    @Test func anotherKeysFileIsCorrupt() async throws {
        try await withFileStoreDirectory { directory in
            let (store, path) = try await self.makeStore(in: directory)
            // A valid entry of another key, copied under the victim's name.
            let otherPath = directory + "/" + SHA256.hexDigest("other-1".utf8) + ".entry"
            try FileManager.default.removeItem(atPath: path)
            try FileManager.default.copyItem(atPath: otherPath, toPath: path)
            try await self.expectOnlyVictimCorrupt(store)
        }
    }

    @Test func directoryInPlaceOfTheFileIsCorrupt() async throws {
        try await withFileStoreDirectory { directory in
            let (store, path) = try await self.makeStore(in: directory)
            try FileManager.default.removeItem(atPath: path)
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
            #expect(await fileStoreErrorCode { _ = try await store.get("victim") } == .corruptEntry)
            #expect(try await store.get("other-1") == ByteBuffer(string: "one"))
            #expect(Set(try await store.keys().collect()) == ["other-1", "other-2"])
        }
    }

    @Test func deleteRemovesACorruptEntry() async throws {
        try await withFileStoreDirectory { directory in
            let (store, path) = try await self.makeStore(in: directory)
            try Data("hello".utf8).write(to: URL(fileURLWithPath: path))
            try await store.delete("victim")
            #expect(try await store.get("victim") == nil)
            #expect(try await store.insert("victim", value: ByteBuffer(string: "new")))
        }
    }

    @Test func foreignFilesDoNotBreakListingOrSweeps() async throws {
        try await withFileStoreDirectory { base in
            let directory = base + "/store"
            let (store, _) = try await self.makeStore(in: directory)
            let garbage = String(repeating: "0", count: 64) + ".entry"
            try Data("hello".utf8).write(to: URL(fileURLWithPath: directory + "/README.txt"))
            try Data().write(to: URL(fileURLWithPath: directory + "/" + garbage))
            try Data("x".utf8).write(to: URL(fileURLWithPath: directory + "/zzz.entry"))
            try Data("x".utf8).write(to: URL(fileURLWithPath: directory + "/not-a-dir.ns"))
            try FileManager.default.createDirectory(atPath: directory + "/junk", withIntermediateDirectories: false)
            // A link posing as a namespace, to a directory outside the store holding entry-like files.
            let outside = base + "/outside"
            try FileManager.default.createDirectory(atPath: outside + "/inner.ns", withIntermediateDirectories: true)
            try Data("x".utf8).write(to: URL(fileURLWithPath: outside + "/" + garbage))
            try FileManager.default.createSymbolicLink(atPath: directory + "/link.ns", withDestinationPath: outside)

            #expect(Set(try await store.keys().collect()) == ["victim", "other-1", "other-2"])
            try await store.deleteExpired()
            #expect(Set(try await store.keys().collect()) == ["victim", "other-1", "other-2"])
            #expect(FileManager.default.fileExists(atPath: directory + "/README.txt"))
            #expect(FileManager.default.fileExists(atPath: directory + "/" + garbage))

            // deleteAll removes entries, corrupt ones included, and leaves strangers' files; it never follows links.
            try await store.deleteAll()
            #expect(try await store.keys().collect() == [])
            #expect(!FileManager.default.fileExists(atPath: directory + "/" + garbage))
            #expect(FileManager.default.fileExists(atPath: directory + "/README.txt"))
            #expect(FileManager.default.fileExists(atPath: directory + "/junk"))
            #expect(FileManager.default.fileExists(atPath: outside + "/" + garbage))
            #expect(FileManager.default.fileExists(atPath: outside + "/inner.ns"))
            #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: directory + "/link.ns")) == outside)
        }
    }
}
