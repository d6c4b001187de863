import Foundation
import Stash

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A `stash-demo` process spawned with `posix_spawn`: standard input from /dev/null, standard output and error to
/// files, so there are no pipes to drain and no pipe ends to leak (the test process's sockets are close-on-exec, as
/// NIO and Foundation open them).
final class DemoProcess: Sendable {
    /// The demo executable, built next to the test bundle because the test target depends on it.
    static var executable: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("stash-demo").path
    }

    let processIdentifier: pid_t
    private let outputPath: String
    private let errorPath: String

    init(_ arguments: [String]) throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("stash-demo-\(UUID().uuidString)").path
        self.outputPath = base + ".out"
        self.errorPath = base + ".err"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, self.outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, self.errorPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv = ([Self.executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, Self.executable, &actions, nil, argv, environ)
        guard result == 0 else { throw POSIXError(POSIXErrorCode(rawValue: result) ?? .EIO) }
        self.processIdentifier = pid
    }

    deinit {
        try? FileManager.default.removeItem(atPath: self.outputPath)
        try? FileManager.default.removeItem(atPath: self.errorPath)
    }

    /// What the process wrote to standard output so far.
    var output: String { (try? String(contentsOfFile: self.outputPath, encoding: .utf8)) ?? "" }
    /// What the process wrote to standard error so far.
    var errorOutput: String { (try? String(contentsOfFile: self.errorPath, encoding: .utf8)) ?? "" }

    /// The port from the demo's `listening on http://HOST:PORT` line, once printed; `nil` when the timeout passes first
    /// or the process exits.
    func waitForPort(timeout: Duration = .seconds(60)) async throws -> Int? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            for line in self.output.split(separator: "\n") where line.hasPrefix("stash-demo listening on http://") {
                let address = line.dropFirst("stash-demo listening on http://".count).prefix { $0 != " " }
                if let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) { return port }
            }
            if try self.exitStatus() != nil { return nil }
            try await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    private let status = Locked<Int32?>(nil)

    /// The exit code once the process has exited (128 + the signal when a signal ended it), else `nil`; reaps it.
    func exitStatus() throws -> Int32? {
        try self.status.withLock { status in
            if let status { return status }
            var raw: Int32 = 0
            let result = waitpid(self.processIdentifier, &raw, WNOHANG)
            guard result >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            guard result == self.processIdentifier else { return nil }
            let signal = raw & 0x7F
            status = signal == 0 ? (raw >> 8) & 0xFF : 128 + signal
            return status
        }
    }

    /// Waits for the process to exit and returns its exit code; after the timeout, kills it and returns `nil`.
    func waitForExit(timeout: Duration = .seconds(20)) async throws -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let status = try self.exitStatus() { return status }
            try await Task.sleep(for: .milliseconds(20))
        }
        self.forceStop()
        return nil
    }

    /// Sends a signal (SIGTERM by default) if the process is still running.
    func send(_ signal: Int32 = SIGTERM) {
        if (try? self.exitStatus()) == nil { kill(self.processIdentifier, signal) }
    }

    /// Kills the process (SIGKILL) and reaps it, within a bounded wait.
    func forceStop() {
        guard (try? self.exitStatus()) == nil else { return }
        kill(self.processIdentifier, SIGKILL)
        for _ in 0..<500 {
            if (try? self.exitStatus()) != nil { return }
            usleep(10_000)
        }
    }
}
