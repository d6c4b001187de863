/// An error as a span records it: what kind of failure, never the message, which may name a key (a URL, a client's
/// address, a session's key).
///
/// A tracer records an error's type and description (OpenTelemetry's `exception.type` and `exception.message`);
/// Stash hands it this instead of the error itself, so a trace shows `StoreError.timedOut`, not the key that timed
/// out.
package struct TracedError: Error, CustomStringConvertible {
    /// OpenTelemetry's `error.type`: a ``StoreError``'s code (`timedOut`), else the error's type name.
    package let type: String
    /// `StoreError.timedOut`, or the error's type name.
    package let description: String

    package init(_ error: any Error) {
        if let error = error as? StoreError {
            self.type = error.code.description
            self.description = "StoreError." + error.code.description
        } else {
            let name = String(reflecting: Swift.type(of: error))
            self.type = name
            self.description = name
        }
    }
}
