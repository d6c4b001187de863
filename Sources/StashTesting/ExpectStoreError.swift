package import Stash
package import Testing

/// Records an issue unless `body` throws a ``/Stash/StoreError`` with one of the given codes: the check of every store
/// test that bad input, or a server in trouble, gets a typed error.
package func expectStoreError<T>(
    _ codes: Set<StoreError.Code>,
    _ what: String,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> T
) async {
    let expected = codes.map { "StoreError.\($0)" }.sorted().joined(separator: " or ")
    do {
        _ = try await body()
        Issue.record("\(what): expected \(expected), but it succeeded", sourceLocation: sourceLocation)
    } catch let error as StoreError {
        if !codes.contains(error.code) {
            Issue.record("\(what): expected \(expected), got \(error)", sourceLocation: sourceLocation)
        }
    } catch {
        Issue.record("\(what): expected \(expected), got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
    }
}
