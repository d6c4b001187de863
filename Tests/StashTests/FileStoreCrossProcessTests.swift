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

/// A `stash-test-worker` process, its output collected as it arrives.
private final class FileStoreWorker: Sendable {
    /// The worker executable, built next to the test bundle because the test target depends on it.
    static var executable: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("stash-test-worker")
    }

    private let process: Process
    private let output = Mutex("")

    init(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        self.process = process
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
                return
            }
            self?.output.withLock { $0 += String(decoding: data, as: UTF8.self) }
        }
        try process.run()
    }

    var text: String { self.output.withLock { $0 } }
    var processIdentifier: Int32 { self.process.processIdentifier }
    var isRunning: Bool { self.process.isRunning }
    var terminationStatus: Int32 { self.process.terminationStatus }

    /// Waits until the worker has printed a line, or the timeout passes.
    func waitForLine(_ line: String, timeout: Duration = .seconds(30)) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if self.text.split(separator: "\n").contains(Substring(line)) { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    /// Waits until the worker exits, or the timeout passes (then kills it).
    func waitForExit(timeout: Duration = .seconds(60)) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while self.process.isRunning {
            guard ContinuousClock.now < deadline else {
                self.forceStop()
                return false
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        return true
    }

    /// Sends SIGKILL: the worker gets no chance to clean up, as in a crash.
    func forceStop() {
        if self.process.isRunning { kill(self.process.processIdentifier, SIGKILL) }
    }
}

/// The two values the worker's write-loop alternates between for key `k<index>` (as in Tests/StashTestWorker).
private func writeLoopValue(index: Int, long: Bool) -> ByteBuffer {
    long
        ? ByteBuffer(string: "k\(index)-long:" + String(repeating: "L", count: 200_000 + index))
        : ByteBuffer(string: "k\(index)-short:" + String(repeating: "s", count: 10 + index))
}

@Suite struct FileStoreCrossProcessTests {
    @Test func workerExecutableIsBuiltNextToTheTests() {
        #expect(FileManager.default.isExecutableFile(atPath: FileStoreWorker.executable.path), "\(FileStoreWorker.executable.path)")
    }

    @Test func incrementsFromTwoProcessesAndThisOneLoseNothing() async throws {
        try await withFileStoreDirectory { directory in
            let store = try FileStore(directory: directory)
            let workers = try (0..<2).map { _ in try FileStoreWorker(["increment", directory, "counter", "1000"]) }
            defer { for worker in workers { worker.forceStop() } }
            for worker in workers {
                #expect(try await worker.waitForLine("ready"), "worker said: \(worker.text)")
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        for _ in 0..<250 { try await store.increment("counter") }
                    }
                }
                try await group.waitForAll()
            }
            for worker in workers {
                #expect(try await worker.waitForExit(), "worker hung; it said: \(worker.text)")
                #expect(worker.terminationStatus == 0, "worker said: \(worker.text)")
                #expect(worker.text.contains("done"))
            }
            #expect(try await store.get("counter") == ByteBuffer(string: "3000"))
        }
    }

    @Test func killedWriterLeavesOnlyWholeValuesAndItsTemporaryFilesAreSwept() async throws {
        try await withFileStoreDirectory { directory in
            // A kill lands while a temporary file exists only now and then: try a few times to see one swept.
            var sweptLeftovers = false
            for _ in 0..<5 where !sweptLeftovers {
                let worker = try FileStoreWorker(["write-loop", directory])
                defer { worker.forceStop() }
                #expect(try await worker.waitForLine("ready"), "worker said: \(worker.text)")
                try await Task.sleep(for: .milliseconds(300))
                worker.forceStop()
                #expect(try await worker.waitForExit(timeout: .seconds(10)))
                #expect(worker.terminationStatus == SIGKILL, "worker said: \(worker.text)")

                let store = try FileStore(directory: directory)
                var present = 0
                for index in 0..<50 {
                    guard let value = try await store.get("k\(index)") else { continue }
                    present += 1
                    let valid = value == writeLoopValue(index: index, long: true) || value == writeLoopValue(index: index, long: false)
                    #expect(valid, "k\(index) holds \(value.readableBytes) unexpected bytes")
                }
                #expect(present > 0, "the worker wrote nothing in 300 ms; it said: \(worker.text)")

                let leftovers = fileStoreFiles(under: directory).filter { $0.hasPrefix(".tmp-") }
                try await store.deleteExpired()
                #expect(fileStoreFiles(under: directory).filter { $0.hasPrefix(".tmp-") } == [], "before the sweep: \(leftovers)")
                sweptLeftovers = !leftovers.isEmpty
            }
        }
    }
}
