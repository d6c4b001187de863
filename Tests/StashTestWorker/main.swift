// stash-test-worker: a second process for FileStore's cross-process tests.
//
//   stash-test-worker increment DIR KEY COUNT   increments KEY by one COUNT times, then prints "done"
//   stash-test-worker merge-record DIR KEY NAME COUNT
//                                                merges fields NAME0…NAME<COUNT-1> (each its index) into the
//                                                record KEY, one merge each, then prints "done"
//   stash-test-worker write-loop DIR             prints "ready", then rewrites keys k0…k49 forever (flushing
//                                                each write), alternating between a short and a long value
//   stash-test-worker persist-writer FILE COUNT  a MemoryStore auto-saved to FILE every 20 ms: prints "ready",
//                                                sets k0…k<COUNT-1> (one per millisecond), prints "done" and
//                                                keeps running (auto-saving) until killed
//   stash-test-worker persist-loop FILE          prints "ready", then rewrites 1,000 keys and saves FILE,
//                                                forever, so that a SIGKILL lands during a save
//
// The values of write-loop are `WriteLoopValue` below; FileStoreCrossProcessTests repeats the definition.

import NIOCore
import Stash

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a line to standard output unbuffered, so the parent sees it at once.
func say(_ line: String) {
    var text = line + "\n"
    text.withUTF8 { bytes in _ = write(1, bytes.baseAddress, bytes.count) }
}

/// The two values write-loop alternates between for key `k<index>`: a short one and a long one, each naming its key.
func writeLoopValue(index: Int, long: Bool) -> ByteBuffer {
    long
        ? ByteBuffer(string: "k\(index)-long:" + String(repeating: "L", count: 200_000 + index))
        : ByteBuffer(string: "k\(index)-short:" + String(repeating: "s", count: 10 + index))
}

func fail(_ message: String) -> Never {
    say("error: \(message)")
    exit(2)
}

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    fail("usage: stash-test-worker increment DIR KEY COUNT | write-loop DIR | persist-writer FILE COUNT | persist-loop FILE")
}

/// The persister commands: a memory store kept in a snapshot file.
func runPersister(_ command: String, file: String) async throws {
    let store = MemoryStore()
    switch command {
    case "persist-writer":
        guard arguments.count == 4, let count = Int(arguments[3]) else { fail("usage: persist-writer FILE COUNT") }
        let persister = Persister(store: store, path: file, configuration: .init(autoSave: true, saveInterval: .milliseconds(20)))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await persister.run() }
            say("ready")
            for index in 0..<count {
                try await store.set("k\(index)", value: ByteBuffer(string: "v\(index)"))
                try await Task.sleep(for: .milliseconds(1))
            }
            say("done")
            try await group.waitForAll()
        }
    default:
        let persister = Persister(store: store, path: file)
        say("ready")
        var generation = 0
        while true {
            generation += 1
            for index in 0..<1_000 {
                try await store.set("k\(index)", value: ByteBuffer(string: "generation \(generation)"))
            }
            try await persister.save()
        }
    }
}

if arguments[1].hasPrefix("persist-") {
    do {
        try await runPersister(arguments[1], file: arguments[2])
    } catch {
        fail("\(error)")
    }
    exit(0)
}

do {
    // write-loop flushes each file (as a durable deployment would), which also keeps its temporary files on disk
    // long enough that a SIGKILL often lands while one exists.
    // increment competes for one key's lock with other processes: it waits long for it, as the test asserts that
    // nothing is lost, not how long a waiter starves on a loaded machine.
    let configuration = FileStore<WallClock>.Configuration(
        synchronizesWrites: arguments[1] == "write-loop",
        lockTimeout: ["increment", "merge-record"].contains(arguments[1]) ? .seconds(120) : .seconds(5)
    )
    let store = try FileStore(directory: arguments[2], configuration: configuration)
    switch arguments[1] {
    case "increment":
        guard arguments.count == 5, let count = Int(arguments[4]) else { fail("usage: increment DIR KEY COUNT") }
        say("ready")
        for _ in 0..<count {
            try await store.increment(arguments[3])
        }
        say("done")
    case "merge-record":
        guard arguments.count == 6, let count = Int(arguments[5]) else { fail("usage: merge-record DIR KEY NAME COUNT") }
        say("ready")
        for index in 0..<count {
            let changes = RecordChanges(set: ["\(arguments[4])\(index)": ByteBuffer(string: "\(index)")])
            guard try await store.mergeRecord(arguments[3], changes) == .merged else { fail("the record \(arguments[3]) is missing") }
        }
        say("done")
    case "write-loop":
        say("ready")
        var long = false
        while true {
            long.toggle()
            for index in 0..<50 {
                try await store.set("k\(index)", value: writeLoopValue(index: index, long: long))
            }
        }
    default:
        fail("unknown command \(arguments[1])")
    }
} catch {
    fail("\(error)")
}
