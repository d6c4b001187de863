import Foundation
import NIOCore
import Stash
import StashTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite struct FileStorePermissionsTests {
    /// The process's umask, read from `/proc/self/status` (setting it to read it would race with other tests), or
    /// `nil` where that file does not exist.
    static let umask: UInt16? = {
        let status = ChildProcess.contents(of: "/proc/self/status")
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Umask:") }) else { return nil }
        return UInt16(line.dropFirst("Umask:".count).trimmingCharacters(in: .whitespaces), radix: 8)
    }()

    /// Checks the permission bits of a path, not following a symbolic link: never more than `expected` (the umask may
    /// clear bits, never add them), and exactly `expected` less the umask where the umask is known.
    static func expectMode(of path: String, _ expected: UInt16, sourceLocation: SourceLocation = #_sourceLocation) {
        var status = stat()
        guard lstat(path, &status) == 0 else {
            Issue.record("lstat \(path): errno \(errno)", sourceLocation: sourceLocation)
            return
        }
        let mode = UInt16(status.st_mode & 0o7777)
        #expect(
            mode & ~expected == 0,
            "\(path) is \(String(mode, radix: 8)), more than \(String(expected, radix: 8))",
            sourceLocation: sourceLocation
        )
        if let umask = Self.umask {
            #expect(
                mode == expected & ~umask,
                "\(path) is \(String(mode, radix: 8)) (umask \(String(umask, radix: 8)))",
                sourceLocation: sourceLocation
            )
        }
    }

    /// Writes to the root and a grandchild of a store created in `base/new/store` (`new` too is created by the store),
    /// and checks every file and directory the store made.
    static func expectModes(in base: String, configuration: FileStore<WallClock>.Configuration, file: UInt16, directory: UInt16) async throws {
        let root = try FileStore(directory: base + "/new/store", configuration: configuration)
        let grandchild = try root.withNamespace("sessions").withNamespace("Admin")
        try await root.set("k", value: ByteBuffer(string: "v"))
        try await grandchild.set("k", value: ByteBuffer(string: "v"))
        _ = try await grandchild.increment("counter")

        for path in [base + "/new", root.directory, root.directory + "/.locks", root.directory + "/sessions.ns", grandchild.directory] {
            Self.expectMode(of: path, directory)
        }
        let files = fileStoreFiles(under: root.directory)
        #expect(files.filter { $0.hasSuffix(".entry") }.count == 3, "\(files)")
        #expect(files.contains { $0.hasPrefix(".locks/") }, "\(files)")
        // Entries were temporary files renamed into place: their mode is the temporary files'.
        for name in files {
            Self.expectMode(of: root.directory + "/" + name, file)
        }
    }

    @Test func filesAndDirectoriesAreTheOwnersOnlyByDefault() async throws {
        try await withFileStoreDirectory { base in
            try await Self.expectModes(in: base, configuration: .init(), file: 0o600, directory: 0o700)
        }
    }

    @Test func permissionsAreConfigurable() async throws {
        try await withFileStoreDirectory { base in
            try await Self.expectModes(in: base, configuration: .init(filePermissions: 0o640), file: 0o640, directory: 0o750)
        }
    }

    @Test func snapshotsAreTheOwnersOnly() async throws {
        try await withFileStoreDirectory { base in
            let store = MemoryStore()
            try await store.set("session", value: ByteBuffer(string: "secret"))
            let persister = Persister(store: store, path: base + "/stash.snapshot")
            try await persister.save()
            Self.expectMode(of: base + "/stash.snapshot", 0o600)
            #expect(try FileManager.default.contentsOfDirectory(atPath: base) == ["stash.snapshot"])
        }
    }
}
