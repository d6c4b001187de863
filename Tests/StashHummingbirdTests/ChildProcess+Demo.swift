import Foundation
import StashTestSupport

extension ChildProcess {
    /// Starts the demo with `arguments`, its standard error kept apart from its output.
    static func demo(_ arguments: [String]) throws -> ChildProcess {
        try ChildProcess(product: "stash-demo", arguments, separateErrorOutput: true)
    }

    /// The port from the demo's `listening on http://HOST:PORT` line, once printed; `nil` when the timeout passes first
    /// or the process exits.
    func waitForPort(timeout: Duration = .seconds(60)) async throws -> Int? {
        try await Self.poll(timeout: timeout, every: .milliseconds(20)) {
            for line in self.output.split(separator: "\n") where line.hasPrefix("stash-demo listening on http://") {
                let address = line.dropFirst("stash-demo listening on http://".count).prefix { $0 != " " }
                if let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) { return .value(port) }
            }
            return try self.exitStatus() != nil ? .stop : .wait
        }
    }
}
