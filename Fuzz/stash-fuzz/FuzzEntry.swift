import Foundation
import StashFuzzing

// libFuzzer's entry: built with `-sanitize=fuzzer,address -DSTASH_FUZZ` (scripts/fuzz.sh), the executable's entry
// point (which SwiftPM names `stash_fuzz_main`) hands the command line to libFuzzer's driver, which calls
// `LLVMFuzzerTestOneInput` once per input; the target is chosen by `STASH_FUZZ_TARGET`.

/// The target `STASH_FUZZ_TARGET` names, read once.
let chosenTarget: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["STASH_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        let known = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        FileHandle.standardError.write(Data("STASH_FUZZ_TARGET must be one of \(known), not '\(name)'\n".utf8))
        exit(2)
    }
    return target
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    chosenTarget.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

#if STASH_FUZZ
/// libFuzzer's driver: parses its flags from the command line and runs the fuzzing loop.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// The executable's entry point under libFuzzer: SwiftPM links `main` to this symbol.
@_cdecl("stash_fuzz_main")
func stashFuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in fuzzOneInput(data, size) }
}
#else
/// Without libFuzzer: `stash-fuzz TARGET FILE…` runs the files through a target, as a crash's reproducer.
@main
struct StashFuzzReplay {
    static func main() throws {
        let arguments = CommandLine.arguments.dropFirst()
        if arguments.first == "--write-seeds", let directory = arguments.dropFirst().first {
            for target in FuzzTarget.allCases {
                let folder = URL(fileURLWithPath: directory).appendingPathComponent(target.rawValue)
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                for (index, seed) in target.seeds.enumerated() {
                    try Data(seed).write(to: folder.appendingPathComponent("seed-\(index)"))
                }
            }
            return
        }
        guard let name = arguments.first, let target = FuzzTarget(rawValue: name) else {
            print(
                "usage: stash-fuzz TARGET FILE…, or stash-fuzz --write-seeds DIRECTORY (targets: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")))"
            )
            exit(2)
        }
        for path in arguments.dropFirst() {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            bytes.withUnsafeBytes { target.run($0) }
            print("\(path): ok")
        }
    }
}
#endif
