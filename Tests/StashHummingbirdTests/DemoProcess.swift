import Foundation
import StashTestSupport

/// The `stash-demo` binary, started as a ``ChildProcess`` with its standard error kept apart from its output.
enum DemoProcess {
    /// The demo executable, built next to the test bundle because the test target depends on it.
    static var executable: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("stash-demo").path
    }

    /// Starts the demo with `arguments`.
    static func start(_ arguments: [String]) throws -> ChildProcess {
        try ChildProcess([Self.executable] + arguments, separateErrorOutput: true)
    }
}

extension ChildProcess {
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
}
