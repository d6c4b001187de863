extension RESPDecoder {
    /// The bounds a ``RESPDecoder`` enforces on what a server announces, checked before it waits or allocates.
    package struct Limits: Sendable {
        /// The deepest nesting of aggregates (arrays, maps, sets, pushes, attributes); a top-level array is depth 1.
        ///
        /// Aggregates are parsed recursively, so this also bounds the stack the decoder uses.
        package var maximumDepth: Int
        /// The longest bulk string, blob error or verbatim string, in bytes; also the longest simple string, simple
        /// error or big number line.
        package var maximumBulkLength: Int
        /// The most elements one aggregate may declare; a map or an attribute of `n` pairs counts `2 × n`.
        package var maximumAggregateCount: Int

        /// Creates limits; the defaults are Redis's own (512 MiB strings) and comfortably above any reply it sends.
        ///
        /// - Parameters:
        ///   - maximumDepth: The deepest nesting of aggregates (64).
        ///   - maximumBulkLength: The longest string, in bytes (512 MiB).
        ///   - maximumAggregateCount: The most elements in one aggregate (16 Mi).
        package init(
            maximumDepth: Int = 64,
            maximumBulkLength: Int = 512 * 1024 * 1024,
            maximumAggregateCount: Int = 16 * 1024 * 1024
        ) {
            self.maximumDepth = maximumDepth
            self.maximumBulkLength = maximumBulkLength
            self.maximumAggregateCount = maximumAggregateCount
        }
    }
}
