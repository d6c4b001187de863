#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A clock reading the system's wall-clock (real) time, for stores that write absolute expiry times that other
/// processes and later runs must understand (``FileStore``, snapshots).
///
/// Its instants are durations since the Unix epoch. Prefer `ContinuousClock` for anything kept only in memory:
/// it does not jump when the system's time is set.
public struct WallClock: Clock, Sendable {
    /// A point in wall-clock time: a duration since 1970-01-01T00:00:00Z.
    public struct Instant: InstantProtocol, Sendable {
        /// The time since the Unix epoch.
        public var sinceEpoch: Duration

        /// Creates an instant a given duration after the Unix epoch.
        public init(sinceEpoch: Duration) {
            self.sinceEpoch = sinceEpoch
        }

        /// Creates an instant a whole number of milliseconds after the Unix epoch.
        public init(millisecondsSinceEpoch: Int64) {
            self.sinceEpoch = .milliseconds(millisecondsSinceEpoch)
        }

        /// Milliseconds since the Unix epoch, rounded down.
        public var millisecondsSinceEpoch: Int64 {
            let (seconds, attoseconds) = self.sinceEpoch.components
            let millisecond: Int64 = 1_000_000_000_000_000
            let (milliseconds, remainder) = attoseconds.quotientAndRemainder(dividingBy: millisecond)
            return seconds * 1000 + milliseconds - (remainder < 0 ? 1 : 0)
        }

        /// The instant a duration after this one.
        public func advanced(by duration: Duration) -> Self {
            Self(sinceEpoch: self.sinceEpoch + duration)
        }

        /// The duration from this instant to another (negative when the other is earlier).
        public func duration(to other: Self) -> Duration {
            other.sinceEpoch - self.sinceEpoch
        }

        /// Whether an instant comes before another.
        public static func < (lhs: Self, rhs: Self) -> Bool {
            lhs.sinceEpoch < rhs.sinceEpoch
        }
    }

    /// Creates a wall clock.
    public init() {}

    /// The system's current wall-clock time (`CLOCK_REALTIME`).
    public var now: Instant {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Instant(sinceEpoch: .seconds(Int64(time.tv_sec)) + .nanoseconds(Int64(time.tv_nsec)))
    }

    /// One nanosecond, the resolution of `CLOCK_REALTIME` readings.
    public var minimumResolution: Duration { .nanoseconds(1) }

    /// Sleeps until a wall-clock time, measured as a duration from now on the continuous clock.
    public func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        try await ContinuousClock().sleep(for: self.now.duration(to: deadline), tolerance: tolerance)
    }
}
