import Foundation
import Stash
import Testing

/// Runs `body` with a fresh, empty temporary directory, removed afterwards whatever happens.
func withFileStoreDirectory<Result>(_ body: (String) async throws -> Result) async throws -> Result {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("stash-file-store-tests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

/// Every regular file under a directory, as paths relative to it (hidden files included).
func fileStoreFiles(under directory: String) -> [String] {
    guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return [] }
    var files: [String] = []
    while let path = enumerator.nextObject() as? String {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory + "/" + path, isDirectory: &isDirectory), !isDirectory.boolValue {
            files.append(path)
        }
    }
    return files.sorted()
}

/// Whether a file name is an entry file's: 64 lowercase hexadecimal digits and `.entry`.
func isFileStoreEntryName(_ name: String) -> Bool {
    name.utf8.count == 70 && name.hasSuffix(".entry") && name.utf8.prefix(64).allSatisfy { Array("0123456789abcdef".utf8).contains($0) }
}

/// The code of a `StoreError` thrown by an operation, or `nil` when it throws nothing or something else.
func fileStoreErrorCode(_ operation: () async throws -> Void) async -> StoreError.Code? {
    do {
        try await operation()
        return nil
    } catch let error as StoreError {
        return error.code
    } catch {
        return nil
    }
}
