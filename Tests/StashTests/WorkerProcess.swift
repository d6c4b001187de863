import Foundation
import Stash

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A `stash-test-worker` process, its output collected as it arrives.
final class WorkerProcess: Sendable {
    /// The worker executable, built next to the test bundle because the test target depends on it.
    static var executable: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("stash-test-worker")
    }

    private let process: Process
    private let output = Locked("")

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
