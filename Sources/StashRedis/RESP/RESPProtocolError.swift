/// Bytes from the server that RESP does not allow, or that exceed the decoder's limits.
///
/// The stream cannot be resynchronised after one, so the connection that received it must be closed.
package struct RESPProtocolError: Error, Sendable, CustomStringConvertible {
    /// What was wrong with the bytes, for logs.
    package let message: String

    /// Creates an error saying what was wrong.
    package init(message: String) {
        self.message = message
    }

    /// The message, prefixed so that logs say where it came from.
    package var description: String { "RESP protocol error: \(self.message)" }
}
