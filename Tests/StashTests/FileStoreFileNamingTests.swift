import Foundation
import NIOCore
import Stash
import Testing

@Suite struct FileStoreFileNamingTests {
    static let awkwardKeys = [
        "../../etc/passwd",
        "../../../../../../../../tmp/escaped",
        "a/b",
        "/absolute/path",
        "..",
        ".",
        ".locks",
        "child.ns",
        "nul\0in\0the\0key",
        "\0",
        String(repeating: "😀", count: 256),
    ]

    @Test func awkwardKeysRoundTripAndOnlyHashedFilesAreWritten() async throws {
        try await withFileStoreDirectory { base in
            // Nest the store so that a path escaping it by one or two levels would land in a directory we check.
            let directory = base + "/one/two/store"
            let store = try FileStore(directory: directory)
            #expect(String(repeating: "😀", count: 256).utf8.count == 1024)

            for (index, key) in Self.awkwardKeys.enumerated() {
                try await store.set(key, value: ByteBuffer(string: "value \(index)"))
            }
            for (index, key) in Self.awkwardKeys.enumerated() {
                #expect(try await store.get(key) == ByteBuffer(string: "value \(index)"), "key \(key.debugDescription)")
            }
            #expect(Set(try await store.keys().collect()) == Set(Self.awkwardKeys))

            let files = fileStoreFiles(under: directory)
            let entries = files.filter { !$0.hasPrefix(".locks/") }
            #expect(entries.count == Self.awkwardKeys.count)
            for name in entries {
                #expect(isFileStoreEntryName(name), "unexpected file \(name)")
            }
            for lock in files.filter({ $0.hasPrefix(".locks/") }) {
                #expect(lock.count == ".locks/".count + 2)
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: base) == ["one"])
            #expect(try FileManager.default.contentsOfDirectory(atPath: base + "/one") == ["two"])
            #expect(try FileManager.default.contentsOfDirectory(atPath: base + "/one/two") == ["store"])

            for key in Self.awkwardKeys {
                try await store.delete(key)
            }
            #expect(fileStoreFiles(under: directory).allSatisfy { $0.hasPrefix(".locks/") })
        }
    }

    @Test func entryFileIsNamedBySHA256OfTheKey() async throws {
        try await withFileStoreDirectory { directory in
            let store = try FileStore(directory: directory)
            try await store.set("abc", value: ByteBuffer(string: "x"))
            let expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad.entry"
            #expect(FileManager.default.fileExists(atPath: directory + "/" + expected))
        }
    }

    @Test func namespacesAreSubdirectoriesMadeOnFirstWrite() async throws {
        try await withFileStoreDirectory { directory in
            let root = try FileStore(directory: directory)
            let child = try root.withNamespace("sessions")
            let grandchild = try child.withNamespace("a-b_C9")
            #expect(child.directory == root.directory + "/sessions.ns")
            #expect(grandchild.directory == root.directory + "/sessions.ns/a-b_^c9.ns")
            #expect(!FileManager.default.fileExists(atPath: grandchild.directory))
            #expect(try await grandchild.keys().collect() == [])
            #expect(try await grandchild.get("k") == nil)

            try await grandchild.set("k", value: ByteBuffer(string: "v"))
            #expect(FileManager.default.fileExists(atPath: grandchild.directory))
            #expect(try await root.keys().collect() == [])
            #expect(try await child.keys().collect() == [])
            #expect(try await grandchild.keys().collect() == ["k"])
        }
    }

    @Test func listingPagesThroughLargeDirectories() async throws {
        try await withFileStoreDirectory { directory in
            let store = try FileStore(directory: directory)
            let keys = (0..<700).map { "key-\($0)" }
            for key in keys {
                try await store.set(key, value: ByteBuffer(string: key))
            }
            try await store.set("other", value: ByteBuffer(string: "x"))
            try await store.withNamespace("key-child").set("key-in-child", value: ByteBuffer(string: "x"))

            let listed = try await store.keys(withPrefix: "key-").collect()
            #expect(listed.count == keys.count)
            #expect(Set(listed) == Set(keys))
            #expect(try await store.keys().collect().count == keys.count + 1)
            #expect(
                Set(try await store.keys(withPrefix: "key-69").collect()) == [
                    "key-69", "key-690", "key-691", "key-692", "key-693", "key-694", "key-695", "key-696", "key-697", "key-698", "key-699",
                ]
            )

            // Stopping early is fine: the directory stream closes when the sequence goes away.
            var iterator = store.keys().makeAsyncIterator()
            #expect(try await iterator.next() != nil)
        }
    }
}
