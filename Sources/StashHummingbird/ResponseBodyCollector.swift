import HTTPTypes
import Hummingbird
import NIOCore

/// A `ResponseBodyWriter` that gathers a body of known length into one buffer, for a middleware that needs it whole.
struct ResponseBodyCollector: ResponseBodyWriter {
    /// Where the writes land: the body is written by value (`consuming`), so the bytes are read back through this.
    private final class Sink {
        var buffer: ByteBuffer
        var finished = false

        init(capacity: Int) {
            self.buffer = ByteBuffer()
            self.buffer.reserveCapacity(capacity)
        }
    }

    private let sink: Sink
    private let expectedLength: Int

    private init(sink: Sink, expectedLength: Int) {
        self.sink = sink
        self.expectedLength = expectedLength
    }

    /// Writes `body` into a buffer and returns it.
    /// - Throws: ``StashHummingbirdError`` when the body writes more bytes than its declared length, or does not
    ///   finish; whatever the body's writer throws.
    static func collect(_ body: ResponseBody, expectedLength: Int) async throws -> ByteBuffer {
        let sink = Sink(capacity: expectedLength)
        try await body.write(ResponseBodyCollector(sink: sink, expectedLength: expectedLength))
        guard sink.finished else { throw StashHummingbirdError.bodyNotFinished }
        return sink.buffer
    }

    mutating func write(_ buffer: ByteBuffer) async throws {
        guard self.sink.buffer.readableBytes + buffer.readableBytes <= self.expectedLength else {
            throw StashHummingbirdError.bodyLongerThanDeclared(self.expectedLength)
        }
        var buffer = buffer
        self.sink.buffer.writeBuffer(&buffer)
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
        self.sink.finished = true
    }
}
