extension ResponseCache {
    /// How long a response stays fresh in the cache.
    public enum Lifetime: Sendable, Hashable {
        /// Fresh for a positive duration after it is stored; a zero or negative duration means ``notCached``.
        case duration(Duration)
        /// Fresh until it is invalidated (or the store evicts it).
        case forever
        /// Not stored at all: the request goes to the handler every time.
        case notCached

        /// Fresh for a number of seconds.
        public static func seconds(_ seconds: Int64) -> Self {
            .duration(.seconds(seconds))
        }

        /// The lifetime in whole milliseconds (rounded up, so a sub-millisecond lifetime is not zero), `nil` for
        /// ever; ``notCached`` and non-positive durations have none.
        var milliseconds: Int64?? {
            switch self {
            case .duration(let duration):
                guard duration > .zero else { return .none }
                let (seconds, attoseconds) = min(duration, ResponseCache.longestLifetime).components
                let millisecond: Int64 = 1_000_000_000_000_000
                return .some(seconds * 1000 + (attoseconds + millisecond - 1) / millisecond)
            case .forever:
                return .some(nil)
            case .notCached:
                return .none
            }
        }
    }
}
