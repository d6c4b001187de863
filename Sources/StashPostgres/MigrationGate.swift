import Stash

/// Runs a store's migration once per storage, on the first operation: concurrent operations wait for the one running
/// it, and a failed migration is tried again by the next operation.
final class MigrationGate: Sendable {
    private enum State {
        case pending
        case running(waiters: [CheckedContinuation<Void, any Error>])
        case done
    }

    private enum Role {
        case done
        case migrate
        case wait
    }

    private let state = Locked(State.pending)

    /// Returns once the migration has succeeded, running it when no one else is.
    /// - Throws: The migration's error, to the caller that ran it and to those that waited for it.
    func run(_ migrate: () async throws -> Void) async throws {
        let role = self.state.withLock { state -> Role in
            switch state {
            case .done:
                return .done
            case .running:
                return .wait
            case .pending:
                state = .running(waiters: [])
                return .migrate
            }
        }
        switch role {
        case .done:
            return
        case .wait:
            try await withCheckedThrowingContinuation { continuation in
                let finished = self.state.withLock { state -> Bool in
                    guard case .running(var waiters) = state else { return true }
                    waiters.append(continuation)
                    state = .running(waiters: waiters)
                    return false
                }
                // The migration ended between the two looks: go again, as a new caller.
                if finished { continuation.resume() }
            }
            try await self.run(migrate)
        case .migrate:
            let result: Result<Void, any Error>
            do {
                try await migrate()
                result = .success(())
            } catch {
                result = .failure(error)
            }
            let waiters = self.state.withLock { state -> [CheckedContinuation<Void, any Error>] in
                guard case .running(let waiters) = state else { return [] }
                if case .success = result {
                    state = .done
                } else {
                    state = .pending
                }
                return waiters
            }
            for waiter in waiters {
                waiter.resume(with: result)
            }
            try result.get()
        }
    }
}
