import Foundation
import Stash

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A program the tests start (a server, a worker, the demo, a command-line tool), spawned with `posix_spawn`:
/// standard input from /dev/null, standard output and error to files, no other descriptor of the test process.
///
/// Not Foundation's `Process`: on Linux it learns that a program ended when a socket the program inherited closes
/// (`pg_ctl start` hands that socket on to the server it starts, which keeps it open), and its pipes' readability
/// handlers and monitors are still allocated when the test process exits, which LeakSanitizer reports. Files need no
/// draining, and waiting polls `waitpid` so that no thread of the concurrency pool ever blocks on a child.
package final class ChildProcess: Sendable {
    package let processIdentifier: Int32
    private let outputPath: String
    private let errorPath: String?
    private let status = Locked<Int32?>(nil)

    /// Starts `command` (its first element a path, or a name looked up in `PATH`).
    /// - Parameter separateErrorOutput: Whether standard error goes to ``errorOutput`` instead of ``output``.
    package init(_ command: [String], separateErrorOutput: Bool = false) throws {
        precondition(!command.isEmpty, "a command names a program")
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("stash-child-\(UUID().uuidString)").path
        self.outputPath = base + ".out"
        self.errorPath = separateErrorOutput ? base + ".err" : nil
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, self.outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        if let errorPath = self.errorPath {
            posix_spawn_file_actions_addopen(&actions, 2, errorPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        } else {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        Self.closeInheritedDescriptors(&actions)
        let argv = command.map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var pid: pid_t = 0
        let result = posix_spawnp(&pid, command[0], &actions, nil, argv, environ)
        guard result == 0 else {
            try? FileManager.default.removeItem(atPath: self.outputPath)
            if let errorPath = self.errorPath { try? FileManager.default.removeItem(atPath: errorPath) }
            throw SpawnFailure(program: command[0], code: result)
        }
        self.processIdentifier = pid
    }

    /// Starts a program of this package (`stash-demo`, `stash-test-worker`) with `arguments`: a test target that
    /// depends on it has it built next to the test bundle.
    package convenience init(product: String, _ arguments: [String], separateErrorOutput: Bool = false) throws {
        try self.init([Self.path(ofProduct: product)] + arguments, separateErrorOutput: separateErrorOutput)
    }

    /// Where a program of this package is built for the tests: next to the test bundle.
    package static func path(ofProduct product: String) -> String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(product).path
    }

    deinit {
        try? FileManager.default.removeItem(atPath: self.outputPath)
        if let errorPath = self.errorPath { try? FileManager.default.removeItem(atPath: errorPath) }
    }

    /// Why a program could not be started.
    package struct SpawnFailure: Error, CustomStringConvertible {
        package let program: String
        package let code: Int32
        package var description: String { "cannot run \(self.program): \(String(cString: strerror(self.code)))" }
    }

    /// What the program wrote to standard output so far (and standard error, unless kept apart).
    package var output: String { Self.contents(of: self.outputPath) }

    /// What the program wrote to standard error so far, when kept apart from its output.
    package var errorOutput: String { self.errorPath.map(Self.contents(of:)) ?? "" }

    /// The exit code once the program has exited (128 + the signal when a signal ended it), else `nil`; reaps it.
    package func exitStatus() throws -> Int32? {
        try self.status.withLock { status in
            if let status { return status }
            var raw: Int32 = 0
            var result: pid_t
            repeat { result = waitpid(self.processIdentifier, &raw, WNOHANG) } while result == -1 && errno == EINTR
            guard result >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            guard result == self.processIdentifier else { return nil }
            let signal = raw & 0x7F
            status = signal == 0 ? (raw >> 8) & 0xFF : 128 + signal
            return status
        }
    }

    /// Whether the program still runs.
    package var isRunning: Bool { (try? self.exitStatus()) == nil }

    /// What one try of ``poll(timeout:every:_:)`` found.
    package enum Polled<Value> {
        /// Done: the value waited for.
        case value(Value)
        /// Done without a value: there is nothing left to wait for (the program exited).
        case stop
        /// Not yet: try again after the interval.
        case wait
    }

    /// Tries `attempt` every `interval` until it is done, or `timeout` passes.
    /// - Returns: The value it found; `nil` when it stopped or the timeout passed first.
    package static func poll<Value>(
        timeout: Duration,
        every interval: Duration,
        _ attempt: () async throws -> Polled<Value>
    ) async throws -> Value? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            switch try await attempt() {
            case .value(let value): return value
            case .stop: return nil
            case .wait: try await Task.sleep(for: interval)
            }
        }
        return nil
    }

    /// Waits for the program to exit and returns its exit code; after the timeout, kills it and returns `nil`.
    package func waitForExit(timeout: Duration = .seconds(60)) async throws -> Int32? {
        let status = try await Self.poll(timeout: timeout, every: .milliseconds(5)) {
            try self.exitStatus().map(Polled.value) ?? .wait
        }
        if status == nil { self.forceStop() }
        return status
    }

    /// Waits until the program has printed `line` as a whole line; `false` when the timeout passes or it exits first.
    package func waitForLine(_ line: String, timeout: Duration = .seconds(30)) async throws -> Bool {
        let printed = { self.output.split(separator: "\n").contains(Substring(line)) }
        return try await Self.poll(timeout: timeout, every: .milliseconds(10)) {
            if printed() { return .value(true) }
            return try self.exitStatus() != nil ? .value(printed()) : .wait
        } ?? false
    }

    /// Sends a signal (SIGTERM by default) if the program still runs.
    package func send(_ signal: Int32 = SIGTERM) {
        if self.isRunning { kill(self.processIdentifier, signal) }
    }

    /// Kills the program (SIGKILL; SIGCONT first, in case it is stopped) and reaps it, within a bounded wait.
    package func forceStop() {
        guard self.isRunning else { return }
        kill(self.processIdentifier, SIGCONT)
        kill(self.processIdentifier, SIGKILL)
        for _ in 0..<500 {
            if !self.isRunning { return }
            usleep(10_000)
        }
    }

    /// Runs `command` to its end (a minute at most, then it is killed).
    /// - Returns: Its exit status (`nil` when it was killed for taking too long) and what it printed.
    package static func run(_ command: [String], timeout: Duration = .seconds(60)) async throws -> (status: Int32?, output: String) {
        let child = try ChildProcess(command)
        let status = try await child.waitForExit(timeout: timeout)
        return (status, child.output)
    }

    /// A whole file as UTF-8 text, read with `read(2)` (empty when it cannot be opened).
    package static func contents(of path: String) -> String {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return "" }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                bytes += chunk[0..<count]
            } else if count < 0, errno == EINTR {
                continue
            } else {
                break
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Makes a spawned program close every descriptor above standard error (glibc 2.34's `closefrom` action, looked
    /// up at run time as Swift's Glibc module does not declare it; else each descriptor open now).
    private static func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) {
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") {
            _ = unsafeBitCast(symbol, to: CloseFrom.self)(&actions, 3)
            return
        }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [] {
            if let descriptor = Int32(name), descriptor > 2 {
                posix_spawn_file_actions_addclose(&actions, descriptor)
            }
        }
    }
}
