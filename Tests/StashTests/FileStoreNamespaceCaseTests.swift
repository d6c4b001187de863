import Crypto
import Foundation
import NIOCore
import Stash
import StashTesting
import Testing

@Suite struct FileStoreNamespaceCaseTests {
    /// Every directory under a directory, as paths relative to it.
    static func directories(under directory: String) -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return [] }
        var directories: [String] = []
        while let path = enumerator.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: directory + "/" + path, isDirectory: &isDirectory), isDirectory.boolValue {
                directories.append(path)
            }
        }
        return directories.sorted()
    }

    @Test func namesDifferingOnlyInCaseAreDistinctNamespacesInLowerCaseDirectories() async throws {
        try await withFileStoreDirectory { directory in
            let clock = ManualClock()
            let root = try FileStore(directory: directory, clock: clock)
            let lower = try root.withNamespace("a")
            let upper = try root.withNamespace("A")
            let nested = try upper.withNamespace("Sessions-X_9")
            #expect(lower.directory == root.directory + "/a.ns")
            #expect(upper.directory == root.directory + "/^a.ns")
            #expect(nested.directory == root.directory + "/^a.ns/^sessions-^x_9.ns")

            try await lower.set("k", value: ByteBuffer(string: "lower"))
            try await upper.set("k", value: ByteBuffer(string: "upper"))
            try await nested.set("k", value: ByteBuffer(string: "nested"), expiresIn: .seconds(1))
            #expect(try await lower.get("k") == ByteBuffer(string: "lower"))
            #expect(try await upper.get("k") == ByteBuffer(string: "upper"))
            #expect(try await nested.get("k") == ByteBuffer(string: "nested"))
            #expect(try await lower.keys().collect() == ["k"])
            #expect(try await upper.keys().collect() == ["k"])

            // A case-insensitive file system (APFS's default) cannot tell names apart by case: none may depend on it.
            let directories = Self.directories(under: directory)
            #expect(directories == [".locks", "^a.ns", "^a.ns/^sessions-^x_9.ns", "a.ns"])
            for path in directories {
                #expect(path == path.lowercased(), "\(path) is not lower case")
            }

            // Sweeps find the encoded directories: expiry from the root, deleteAll of one namespace, then of all.
            clock.advance(by: .seconds(2))
            try await root.deleteExpired()
            #expect(!FileManager.default.fileExists(atPath: nested.directory + "/" + SHA256.hexDigest("k".utf8) + ".entry"))
            try await nested.set("k", value: ByteBuffer(string: "nested"))
            try await upper.deleteAll()
            #expect(try await upper.get("k") == nil)
            #expect(try await nested.get("k") == nil)
            #expect(try await lower.get("k") == ByteBuffer(string: "lower"))
            try await upper.set("k", value: ByteBuffer(string: "upper"))
            try await root.deleteAll()
            #expect(try await lower.get("k") == nil)
            #expect(try await upper.get("k") == nil)
            #expect(Self.directories(under: directory) == [".locks"])
        }
    }

    @Test func directoriesThatAreNotEncodedNamespacesAreLeftAlone() async throws {
        try await withFileStoreDirectory { directory in
            let root = try FileStore(directory: directory)
            try await root.set("k", value: ByteBuffer(string: "v"))
            // Capitals, or a `^` not before a lower-case letter, are never written by a store: not its namespaces.
            let entryName = SHA256.hexDigest("k".utf8) + ".entry"
            for name in ["Sessions.ns", "^.ns", "a^.ns", "^1.ns", "^^a.ns"] {
                try FileManager.default.createDirectory(atPath: directory + "/" + name, withIntermediateDirectories: false)
                try Data("not ours".utf8).write(to: URL(fileURLWithPath: directory + "/" + name + "/" + entryName))
            }
            try await root.deleteAll()
            #expect(try await root.get("k") == nil)
            for name in ["Sessions.ns", "^.ns", "a^.ns", "^1.ns", "^^a.ns"] {
                #expect(FileManager.default.fileExists(atPath: directory + "/" + name + "/" + entryName), "\(name) was swept")
            }
        }
    }
}
