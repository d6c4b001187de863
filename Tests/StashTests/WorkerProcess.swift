import Foundation
import StashTestSupport

/// The `stash-test-worker` binary, started as a ``ChildProcess`` (its standard output and error in one).
enum WorkerProcess {
    /// The worker executable, built next to the test bundle because the test target depends on it.
    static var executable: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("stash-test-worker").path
    }

    /// Starts the worker with `arguments`.
    static func start(_ arguments: [String]) throws -> ChildProcess {
        try ChildProcess([Self.executable] + arguments)
    }
}
