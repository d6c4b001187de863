/// The keys of a namespace, fetched lazily a page at a time (a Redis `SCAN`, a page of rows, a directory chunk).
public struct StoreKeys: AsyncSequence, Sendable {
    public typealias Element = String

    /// One page of keys and how to fetch the next one.
    public struct Page: Sendable {
        /// The keys of this page.
        public var keys: [String]
        /// Fetches the next page, or `nil` when this page is the last.
        public var next: (@Sendable () async throws -> Page)?

        /// Creates a page.
        public init(keys: [String], next: (@Sendable () async throws -> Page)? = nil) {
            self.keys = keys
            self.next = next
        }
    }

    private let first: @Sendable () async throws -> Page

    /// Creates a sequence whose first page is fetched when iteration starts.
    public init(firstPage: @escaping @Sendable () async throws -> Page) {
        self.first = firstPage
    }

    /// Starts an iteration; the first page is fetched by the first `next()`.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(fetch: self.first)
    }

    /// Iterates over the keys, fetching pages as it goes.
    public struct AsyncIterator: AsyncIteratorProtocol {
        private var keys: [String] = []
        private var index = 0
        private var fetch: (@Sendable () async throws -> Page)?

        init(fetch: @escaping @Sendable () async throws -> Page) {
            self.fetch = fetch
        }

        /// The next key, fetching the next page when this one is used up; `nil` after the last.
        public mutating func next() async throws -> String? {
            while self.index == self.keys.count {
                guard let fetch = self.fetch else { return nil }
                let page = try await fetch()
                self.keys = page.keys
                self.index = 0
                self.fetch = page.next
            }
            defer { self.index += 1 }
            return self.keys[self.index]
        }
    }

    /// Collects every key into an array.
    public func collect() async throws -> [String] {
        var keys: [String] = []
        for try await key in self {
            keys.append(key)
        }
        return keys
    }
}
