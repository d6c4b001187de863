import Logging
import PostgresNIO
import Stash

/// The error of an ``PostgresStore/update(_:_:)`` transform, carried through the store's error mapping untouched.
struct TransformFailure: Error {
    var underlying: any Error
}

extension PostgresStorage {
    /// Turns whatever an operation threw into what the store throws: a ``/Stash/StoreError``, or, as they are, a
    /// `CancellationError` when the caller was cancelled and a transform's own error.
    func storeError(from error: any Error) async -> any Error {
        if let failure = error as? TransformFailure {
            return failure.underlying
        }
        if let storeError = error as? StoreError {
            return storeError
        }
        if Task.isCancelled || error is CancellationError {
            return CancellationError()
        }
        if error is DeadlineExceeded {
            return await self.diagnoseTimeout()
        }
        return Self.storeError(error)
    }

    /// The SQLSTATE of the server error a store error carries, if it carries one.
    static func sqlState(of error: StoreError) -> String? {
        (error.underlying as? PSQLError)?.serverInfo?[.sqlState]
    }

    /// Maps postgres-nio's errors (and the network's, underneath) to ``/Stash/StoreError`` codes.
    static func storeError(_ error: any Error) -> StoreError {
        if let error = error as? PSQLError {
            return self.storeError(error)
        }
        if error is ConnectionClosed {
            return StoreError(.unavailable, "PostgreSQL connection failed: \(error)", underlying: error)
        }
        if error is PostgresDecodingError {
            return StoreError(
                .protocolError,
                "PostgreSQL returned a column of an unexpected type: is the table the one PostgresSchema describes?",
                underlying: error
            )
        }
        // The pool's own errors among them: it gave up connecting (after a minute of failures) or has shut down.
        return StoreError(.unavailable, "PostgreSQL request failed: \(error)", underlying: error)
    }

    private static func storeError(_ error: PSQLError) -> StoreError {
        switch error.code {
        case .server:
            let state = error.serverInfo?[.sqlState] ?? "?????"
            let message = error.serverInfo?[.message] ?? "no message"
            switch state {
            case "28P01", "28000":
                return StoreError(.authenticationFailed, "PostgreSQL refused the credentials (\(state)): \(message)", underlying: error)
            case "57P01", "57P02", "57P03", "53300", "08000", "08001", "08003", "08004", "08006":
                return StoreError(.unavailable, "PostgreSQL is unavailable (\(state)): \(message)", underlying: error)
            case "57014":
                return StoreError(.timedOut, "PostgreSQL cancelled the statement (\(state)): \(message)", underlying: error)
            default:
                return StoreError(.serverError, "PostgreSQL error \(state): \(message)", underlying: error)
            }
        case .unsupportedAuthMechanism, .authMechanismRequiresPassword, .saslError:
            return StoreError(.authenticationFailed, "PostgreSQL authentication failed (\(error.code))", underlying: error)
        case .queryCancelled:
            return StoreError(.timedOut, "the PostgreSQL request was cancelled", underlying: error)
        case .messageDecodingFailure, .unexpectedBackendMessage, .invalidCommandTag:
            return StoreError(.protocolError, "PostgreSQL sent an unexpected message (\(error.code))", underlying: error)
        case .sslUnsupported:
            return StoreError(.unavailable, "PostgreSQL does not offer TLS, which the connection requires", underlying: error)
        default:
            // connectionError, serverClosedConnection, clientClosedConnection, uncleanShutdown, poolClosed, TLS set-up.
            let reason = error.underlying.map { ": \($0)" } ?? ""
            return StoreError(.unavailable, "PostgreSQL connection failed (\(error.code))\(reason)", underlying: error)
        }
    }

    /// Says why an operation outlived ``PostgresStore/Configuration/timeout``.
    ///
    /// The pool keeps trying to connect while operations wait, and does not say why it fails. When the store made
    /// the pool, it opens one connection of its own to find out: the server refusing connections or the credentials
    /// is reported as such (``/Stash/StoreError/Code/unavailable``, ``/Stash/StoreError/Code/authenticationFailed``), anything else
    /// as ``/Stash/StoreError/Code/timedOut``.
    func diagnoseTimeout() async -> StoreError {
        let what = "PostgreSQL did not answer within \(self.configuration.timeout)"
        guard let connection = self.connection else {
            return StoreError(.timedOut, "\(what) (is the PostgresClient running, and can it connect?)")
        }
        let probeTimeout = min(connection.connectTimeout, .seconds(2))
        do {
            let configuration = try connection.connectionConfiguration(connectTimeout: probeTimeout)
            let logger = self.logger
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    let probe = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
                    try? await probe.close()
                }
                group.addTask {
                    try await Task.sleep(for: probeTimeout)
                    throw DeadlineExceeded()
                }
                defer { group.cancelAll() }
                try await group.next()
            }
        } catch is DeadlineExceeded {
            return StoreError(.timedOut, "\(what), nor to a new connection within \(probeTimeout)")
        } catch {
            let cause = Self.storeError(error)
            return StoreError(cause.code == .timedOut ? .unavailable : cause.code, "\(what): \(cause.message)", underlying: error)
        }
        let hint = self.ownsClient ? "is the store running as a Service?" : "is the PostgresClient running?"
        return StoreError(.timedOut, "\(what), though it accepts new connections (\(hint) are all connections busy?)")
    }
}
