import StashTestSupport

extension ChildProcess {
    /// Starts the `stash-test-worker` with `arguments` (its standard output and error in one).
    static func worker(_ arguments: [String]) throws -> ChildProcess {
        try ChildProcess(product: "stash-test-worker", arguments)
    }
}
