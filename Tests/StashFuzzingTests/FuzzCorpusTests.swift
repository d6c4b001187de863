import Foundation
import StashFuzzing
import Testing

/// Every input of every fuzz target's committed corpus (`Fuzz/Corpus/TARGET/`) — seeds, and each finding once
/// fixed — runs through its target in the normal suite: a finding that comes back fails here, without libFuzzer.
@Suite struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Fuzz/Corpus").standardized

    @Test(arguments: FuzzTarget.allCases)
    func theCorpusRunsThroughItsTarget(_ target: FuzzTarget) throws {
        let directory = Self.corpus.appendingPathComponent(target.rawValue)
        let files = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
        #expect(!files.isEmpty, "\(target.rawValue) has a seed corpus")
        for file in files {
            let bytes = try Data(contentsOf: file)
            bytes.withUnsafeBytes { target.run($0) }
        }
    }
}
