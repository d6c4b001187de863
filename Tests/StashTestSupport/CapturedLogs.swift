package import Logging
import Stash

/// What a logger was given, by level.
package final class CapturedLogs: Sendable {
    package init() {}

    private let entries = Locked<[(Logger.Level, String)]>([])

    package var warnings: [String] { self.entries.withLock { $0.filter { $0.0 == .warning }.map(\.1) } }

    package struct Handler: LogHandler {
        let logs: CapturedLogs
        package var metadata: Logger.Metadata = [:]
        package var logLevel: Logger.Level = .trace

        package init(logs: CapturedLogs) {
            self.logs = logs
        }

        package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { self.metadata[key] }
            set { self.metadata[key] = newValue }
        }

        package func log(event: LogEvent) {
            self.logs.entries.withLock { $0.append((event.level, "\(event.message)")) }
        }
    }
}
