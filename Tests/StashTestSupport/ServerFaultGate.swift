import Stash

/// Lets the tests that kill, stop or restart servers under load run one at a time, across suites and test targets:
/// each measures what a store does within its timeouts, and two of them at once on two cores starve each other's
/// servers of the CPU they are timed on.
package final class ServerFaultGate: Sendable {
    package static let shared = ServerFaultGate()

    private struct State {
        var isHeld = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Locked(State())

    /// Runs `body` once no other fault test runs.
    package func run<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        await self.acquire()
        do {
            let result = try await body()
            self.release()
            return result
        } catch {
            self.release()
            throw error
        }
    }

    private func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = self.state.withLock { state -> Bool in
                guard state.isHeld else {
                    state.isHeld = true
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    private func release() {
        let next = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.waiters.isEmpty else {
                state.isHeld = false
                return nil
            }
            // Handed on: the gate stays held by the next waiter.
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
