import Foundation
import NIOCore
import Stash
import StashTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The two values the worker's write-loop alternates between for key `k<index>` (as in Tests/StashTestWorker).
private func writeLoopValue(index: Int, long: Bool) -> ByteBuffer {
    long
        ? ByteBuffer(string: "k\(index)-long:" + String(repeating: "L", count: 200_000 + index))
        : ByteBuffer(string: "k\(index)-short:" + String(repeating: "s", count: 10 + index))
}

@Suite struct FileStoreCrossProcessTests {
    @Test func workerExecutableIsBuiltNextToTheTests() {
        let worker = ChildProcess.path(ofProduct: "stash-test-worker")
        #expect(FileManager.default.isExecutableFile(atPath: worker), "\(worker)")
    }

    @Test func incrementsFromTwoProcessesAndThisOneLoseNothing() async throws {
        try await withFileStoreDirectory { directory in
            // Six tasks in three processes take turns at one lock: on a loaded machine a turn can come later than
            // the default 5 s lock timeout. What this asserts is that no increment is lost, so they wait longer.
            let store = try FileStore(directory: directory, configuration: .init(lockTimeout: .seconds(120)))
            let workers = try (0..<2).map { _ in try ChildProcess.worker(["increment", directory, "counter", "1000"]) }
            defer { for worker in workers { worker.forceStop() } }
            for worker in workers {
                #expect(try await worker.waitForLine("ready"), "worker said: \(worker.output)")
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        for _ in 0..<250 { try await store.increment("counter") }
                    }
                }
                try await group.waitForAll()
            }
            for worker in workers {
                #expect(try await worker.waitForExit() != nil, "worker hung; it said: \(worker.output)")
                #expect(try worker.exitStatus() == 0, "worker said: \(worker.output)")
                #expect(worker.output.contains("done"))
            }
            #expect(try await store.get("counter") == ByteBuffer(string: "3000"))
        }
    }

    @Test func recordMergesFromTwoProcessesAndThisOneLoseNothing() async throws {
        try await withFileStoreDirectory { directory in
            let store = try FileStore(directory: directory, configuration: .init(lockTimeout: .seconds(120)))
            #expect(try await store.insertRecord("record", fields: ["seed": ByteBuffer(string: "s")], expiresIn: nil))
            let workers = try ["a", "b"].map { name in try ChildProcess.worker(["merge-record", directory, "record", name, "300"]) }
            defer { for worker in workers { worker.forceStop() } }
            for worker in workers {
                #expect(try await worker.waitForLine("ready"), "worker said: \(worker.output)")
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<4 {
                    group.addTask {
                        for index in 0..<75 {
                            let changes = RecordChanges(set: ["c\(task * 75 + index)": ByteBuffer(string: "\(task * 75 + index)")])
                            let result = try await store.mergeRecord("record", changes)
                            #expect(result == .merged)
                        }
                    }
                }
                try await group.waitForAll()
            }
            for worker in workers {
                #expect(try await worker.waitForExit() != nil, "worker hung; it said: \(worker.output)")
                #expect(try worker.exitStatus() == 0, "worker said: \(worker.output)")
            }
            let fields = try #require(try await store.record("record", renewingFor: nil))
            #expect(fields.count == 901, "300 merges from each process and from this one, and the seed: \(fields.count) fields")
            for name in ["a", "b", "c"] {
                let missing = (0..<300).filter { fields["\(name)\($0)"] != ByteBuffer(string: "\($0)") }
                #expect(missing.isEmpty, "\(name): lost \(missing)")
            }
        }
    }

    @Test func killedWriterLeavesOnlyWholeValuesAndItsTemporaryFilesAreSwept() async throws {
        try await withFileStoreDirectory { directory in
            // A kill lands while a temporary file exists only now and then: try a few times to see one swept.
            var sweptLeftovers = false
            for _ in 0..<5 where !sweptLeftovers {
                let worker = try ChildProcess.worker(["write-loop", directory])
                defer { worker.forceStop() }
                #expect(try await worker.waitForLine("ready"), "worker said: \(worker.output)")
                try await Task.sleep(for: .milliseconds(300))
                worker.forceStop()
                #expect(try await worker.waitForExit(timeout: .seconds(10)) != nil)
                #expect(try worker.exitStatus() == 128 + SIGKILL, "worker said: \(worker.output)")

                let store = try FileStore(directory: directory)
                var present = 0
                for index in 0..<50 {
                    guard let value = try await store.get("k\(index)") else { continue }
                    present += 1
                    let valid = value == writeLoopValue(index: index, long: true) || value == writeLoopValue(index: index, long: false)
                    #expect(valid, "k\(index) holds \(value.readableBytes) unexpected bytes")
                }
                #expect(present > 0, "the worker wrote nothing in 300 ms; it said: \(worker.output)")

                let leftovers = fileStoreFiles(under: directory).filter { $0.hasPrefix(".tmp-") }
                try await store.deleteExpired()
                #expect(fileStoreFiles(under: directory).filter { $0.hasPrefix(".tmp-") } == [], "before the sweep: \(leftovers)")
                sweptLeftovers = !leftovers.isEmpty
            }
        }
    }
}
