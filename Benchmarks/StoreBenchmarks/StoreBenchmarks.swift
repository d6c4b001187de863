import Benchmark
import Foundation
import NIOCore
import Stash
import Synchronization

/// The limit a memory-store hit can approach: a dictionary lookup under a mutex, nothing else.
final class DictionaryBaseline: Sendable {
    let entries: Mutex<[String: ByteBuffer]>

    init(_ entries: [String: ByteBuffer]) {
        self.entries = Mutex(entries)
    }

    func get(_ key: String) -> ByteBuffer? {
        self.entries.withLock { $0[key] }
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 100_000
    )

    let keys = (0..<10_000).map { "user:\($0):session" }
    let value = ByteBuffer(repeating: 0x61, count: 100)
    let hitKey = keys[4_321]
    let missKey = "user:absent:session"

    let baseline = DictionaryBaseline(Dictionary(uniqueKeysWithValues: keys.map { ($0, value) }))
    Benchmark("Baseline: Dictionary lookup under a Mutex") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(baseline.get(hitKey))
        }
    }

    let memory = MemoryStore()
    let bounded = try! MemoryStore(configuration: .init(maximumEntries: 100_000))  // a valid configuration: never throws
    let fillMemory: Benchmark.BenchmarkSetupHook = {
        for key in keys {
            try await memory.set(key, value: value, expiresIn: .seconds(3600))
            try await bounded.set(key, value: value, expiresIn: .seconds(3600))
        }
    }

    Benchmark(
        "MemoryStore get (hit)",
        closure: { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try await memory.get(hitKey))
            }
        },
        setup: fillMemory
    )

    Benchmark(
        "MemoryStore get (hit, LRU-bounded)",
        closure: { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try await bounded.get(hitKey))
            }
        },
        setup: fillMemory
    )

    Benchmark(
        "MemoryStore get (miss)",
        closure: { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try await memory.get(missKey))
            }
        },
        setup: fillMemory
    )

    Benchmark(
        "MemoryStore set (overwrite, with expiry)",
        closure: { benchmark in
            for _ in benchmark.scaledIterations {
                try await memory.set(hitKey, value: value, expiresIn: .seconds(3600))
            }
        },
        setup: fillMemory
    )

    // FileStore: every operation is a hop to NIO's blocking pool plus its system calls (open, read, close for a
    // get; a temporary file, write, rename and a lock for a set, without fsync).
    let fileDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("stash-benchmarks-\(UUID().uuidString)").path
    let fileConfiguration = Benchmark.Configuration(scalingFactor: .one)
    let fileStore = Mutex<FileStore<WallClock>?>(nil)
    let openFileStore: Benchmark.BenchmarkSetupHook = {
        let store = try FileStore(directory: fileDirectory)
        for key in keys.prefix(1_000) {
            try await store.set(key, value: value, expiresIn: .seconds(3600))
        }
        try await store.set(hitKey, value: value, expiresIn: .seconds(3600))
        fileStore.withLock { $0 = store }
    }
    let removeFileStore: Benchmark.BenchmarkTeardownHook = {
        try? FileManager.default.removeItem(atPath: fileDirectory)
    }

    Benchmark(
        "FileStore get (hit)",
        configuration: fileConfiguration,
        closure: { benchmark in
            let store = fileStore.withLock { $0 }!
            for _ in benchmark.scaledIterations {
                blackHole(try await store.get(hitKey))
            }
        },
        setup: openFileStore,
        teardown: removeFileStore
    )

    Benchmark(
        "FileStore set (overwrite, with expiry)",
        configuration: fileConfiguration,
        closure: { benchmark in
            let store = fileStore.withLock { $0 }!
            for _ in benchmark.scaledIterations {
                try await store.set(hitKey, value: value, expiresIn: .seconds(3600))
            }
        },
        setup: openFileStore,
        teardown: removeFileStore
    )

    // Persister: a whole snapshot of 100,000 entries of 100 bytes, saved (fsync'd) and loaded.
    let snapshotDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("stash-snapshots-\(UUID().uuidString)").path
    let snapshotSource = MemoryStore()
    let snapshotTarget = MemoryStore()
    let saver = Persister(store: snapshotSource, path: snapshotDirectory + "/100k.snapshot")
    let loader = Persister(store: snapshotTarget, path: snapshotDirectory + "/100k.snapshot")
    let snapshotConfiguration = Benchmark.Configuration(scalingFactor: .one, maxDuration: .seconds(5), maxIterations: 30)
    let fillSnapshotSource: Benchmark.BenchmarkSetupHook = {
        try FileManager.default.createDirectory(atPath: snapshotDirectory, withIntermediateDirectories: true)
        for index in 0..<100_000 {
            try await snapshotSource.set("user:\(index):session", value: value, expiresIn: .seconds(3600))
        }
        try await saver.save()
    }
    let removeSnapshots: Benchmark.BenchmarkTeardownHook = {
        try? FileManager.default.removeItem(atPath: snapshotDirectory)
    }

    Benchmark(
        "Persister save (100,000 entries of 100 B)",
        configuration: snapshotConfiguration,
        closure: { _ in try await saver.save() },
        setup: fillSnapshotSource,
        teardown: removeSnapshots
    )

    Benchmark(
        "Persister load (100,000 entries of 100 B)",
        configuration: snapshotConfiguration,
        closure: { _ in try await loader.load() },
        setup: fillSnapshotSource,
        teardown: removeSnapshots
    )

    // The write path with a persister auto-saving the same store every second, beside the plain set above.
    let autoSaved = MemoryStore()
    let autoSaver = Persister(
        store: autoSaved,
        path: FileManager.default.temporaryDirectory.appendingPathComponent("stash-autosave-\(UUID().uuidString)").path,
        configuration: .init(autoSave: true, saveInterval: .seconds(1))
    )
    let autoSaveTask = Mutex<Task<Void, any Error>?>(nil)
    Benchmark(
        "MemoryStore set (overwrite, with expiry), auto-save running",
        closure: { benchmark in
            for _ in benchmark.scaledIterations {
                try await autoSaved.set(hitKey, value: value, expiresIn: .seconds(3600))
            }
        },
        setup: {
            for key in keys {
                try await autoSaved.set(key, value: value, expiresIn: .seconds(3600))
            }
            autoSaveTask.withLock { $0 = Task { try await autoSaver.run() } }
        },
        teardown: {
            autoSaveTask.withLock { $0?.cancel() }
            try? FileManager.default.removeItem(atPath: autoSaver.path)
        }
    )
}
