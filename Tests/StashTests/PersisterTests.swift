import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Stash
import StashTesting
import Testing

@Suite struct PersisterTests {
    /// Where the round-trip test puts entry `index`: four namespaces deep and wide.
    static let namespaces: [[String]] = [[], ["sessions"], ["sessions", "admin"], ["rate_limit"]]

    /// Entry `index`'s time to live: none for even indexes, 1 to 100 seconds for odd ones.
    static func expiry(of index: Int) -> Duration? {
        index.isMultiple(of: 2) ? nil : .seconds(1 + index % 100)
    }

    static func store(_ root: MemoryStore<ManualClock>, at path: [String]) throws -> MemoryStore<ManualClock> {
        try path.reduce(root) { try $0.withNamespace($1) }
    }

    @Test func tenThousandEntriesSurviveARestartWithAbsoluteExpiries() async throws {
        try await withFileStoreDirectory { directory in
            let path = directory + "/store.snapshot"
            let clock = ManualClock()
            let original = MemoryStore(clock: clock)
            for index in 0..<10_000 {
                let store = try Self.store(original, at: Self.namespaces[index % 4])
                try await store.set(
                    "key \(index)",
                    value: ByteBuffer(string: "value \(index) " + String(repeating: "x", count: index % 50)),
                    expiresIn: Self.expiry(of: index)
                )
            }
            try await Persister(store: original, path: path).save()

            // The process is down for 50 seconds; a new one loads the snapshot.
            let later = ManualClock(now: clock.now.advanced(by: .seconds(50)))
            let restored = MemoryStore(clock: later)
            try await Persister(store: restored, path: path).load()

            var expected = 0
            for index in 0..<10_000 {
                let store = try Self.store(restored, at: Self.namespaces[index % 4])
                let key = "key \(index)"
                guard let ttl = Self.expiry(of: index) else {
                    expected += 1
                    #expect(try await store.get(key) == ByteBuffer(string: "value \(index) " + String(repeating: "x", count: index % 50)))
                    #expect(try await store.expiry(of: key) == .never)
                    continue
                }
                if ttl <= .seconds(50) {
                    #expect(try await store.exists(key) == false, "\(key) expired while the process was down")
                } else {
                    expected += 1
                    #expect(try await store.expiry(of: key) == .expiresIn(ttl - .seconds(50)), "\(key) keeps its absolute expiry")
                }
            }
            #expect(restored.count == expected)
        }
    }

    @Test func replaceAndMergeModes() async throws {
        try await withFileStoreDirectory { directory in
            let path = directory + "/store.snapshot"
            let source = MemoryStore()
            try await source.set("shared", value: ByteBuffer(string: "from snapshot"))
            try await source.withNamespace("child").set("c", value: ByteBuffer(string: "child"))
            try await Persister(store: source, path: path).save()

            let replaced = MemoryStore()
            try await replaced.set("local", value: ByteBuffer(string: "local"))
            try await replaced.withNamespace("child").set("local", value: ByteBuffer(string: "local"))
            try await Persister(store: replaced, path: path).load()
            #expect(try await replaced.get("local") == nil, "replace drops what the snapshot lacks")
            #expect(try await replaced.withNamespace("child").get("local") == nil, "in children too")
            #expect(try await replaced.get("shared") == ByteBuffer(string: "from snapshot"))
            #expect(try await replaced.withNamespace("child").get("c") == ByteBuffer(string: "child"))

            let merged = MemoryStore()
            try await merged.set("local", value: ByteBuffer(string: "local"))
            try await merged.set("shared", value: ByteBuffer(string: "mine"))
            try await Persister(store: merged, path: path, configuration: .init(loadMode: .merge)).load()
            #expect(try await merged.get("local") == ByteBuffer(string: "local"), "merge keeps what the snapshot lacks")
            #expect(try await merged.get("shared") == ByteBuffer(string: "from snapshot"), "merge takes the snapshot's value")
        }
    }

    @Test func aNamespaceIsPersistedAloneAndALoadOnlyTouchesIt() async throws {
        try await withFileStoreDirectory { directory in
            let path = directory + "/sessions.snapshot"
            let root = MemoryStore()
            let sessions = try root.withNamespace("sessions")
            try await sessions.set("s", value: ByteBuffer(string: "session"))
            try await root.set("r", value: ByteBuffer(string: "root"))
            try await Persister(store: sessions, path: path).save()
            try await sessions.set("s", value: ByteBuffer(string: "changed"))
            try await root.set("r", value: ByteBuffer(string: "root, changed"))

            try await Persister(store: sessions, path: path).load()
            #expect(try await sessions.get("s") == ByteBuffer(string: "session"))
            #expect(try await root.get("r") == ByteBuffer(string: "root, changed"), "loading a namespace leaves its parent")
        }
    }

    @Test func aMissingFileIsAnEmptyStore() async throws {
        try await withFileStoreDirectory { directory in
            let store = MemoryStore()
            try await store.set("k", value: ByteBuffer(string: "v"))
            try await Persister(store: store, path: directory + "/missing", configuration: .init(loadMode: .merge)).load()
            #expect(try await store.get("k") == ByteBuffer(string: "v"), "merging nothing changes nothing")
            try await Persister(store: store, path: directory + "/missing").load()
            #expect(store.count == 0, "replacing with nothing empties the store")
        }
    }

    @Test func damagedFilesAreTypedErrorsAndLeaveTheStoreUnchanged() async throws {
        try await withFileStoreDirectory { directory in
            let path = directory + "/store.snapshot"
            let source = MemoryStore()
            for index in 0..<20 {
                try await source.withNamespace("ns").set("key \(index)", value: ByteBuffer(string: "value \(index)"), expiresIn: .seconds(600))
            }
            try await Persister(store: source, path: path).save()
            let good = try Data(contentsOf: URL(fileURLWithPath: path))

            var cases: [(String, Data, StoreError.Code)] = [
                ("an empty file", Data(), .corruptSnapshot),
                ("a foreign file", Data("hello, world".utf8), .corruptSnapshot),
                ("a file of zeros", Data(count: good.count), .corruptSnapshot),
            ]
            for length in [1, 8, 9, 25, 33, 37, good.count / 2, good.count - 1] {
                cases.append(("truncated to \(length) bytes", good.prefix(length), .corruptSnapshot))
            }
            for offset in [10, 40, good.count / 2, good.count - 1] {
                var flipped = good
                flipped[offset] ^= 0x01
                cases.append(("a flipped bit at byte \(offset)", flipped, .corruptSnapshot))
            }
            var newer = good
            newer[8] = 2
            cases.append(("format version 2", newer, .unsupportedSnapshotVersion))
            cases.append(("extra bytes after the checksum", good + Data([0]), .corruptSnapshot))

            let store = MemoryStore()
            try await store.set("kept", value: ByteBuffer(string: "before"), expiresIn: .seconds(600))
            let persister = Persister(store: store, path: path)
            for (name, contents, code) in cases {
                try contents.write(to: URL(fileURLWithPath: path))
                let error = await #expect(throws: StoreError.self, "\(name)") { try await persister.load() }
                #expect(error?.code == code, "\(name): \(String(describing: error))")
                #expect(try await store.get("kept") == ByteBuffer(string: "before"), "\(name) leaves the store unchanged")
                #expect(store.count == 1, "\(name) adds nothing")
            }

            try FileManager.default.removeItem(atPath: path)
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
            let error = await #expect(throws: StoreError.self) { try await persister.load() }
            #expect(error?.code == .corruptSnapshot, "a directory at the path is not a snapshot")
        }
    }

    @Test func aFailedSaveKeepsThePreviousSnapshot() async throws {
        try await withFileStoreDirectory { directory in
            let store = MemoryStore()
            try await store.set("k", value: ByteBuffer(string: "v"))
            let error = await #expect(throws: StoreError.self) {
                try await Persister(store: store, path: directory + "/no/such/directory/snapshot").save()
            }
            #expect(error?.code == .ioFailure)
            #expect(fileStoreFiles(under: directory).isEmpty, "no temporary file is left behind")
        }
    }
}
