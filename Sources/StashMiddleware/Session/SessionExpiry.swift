import Stash

/// How long a session lives: a fixed lifetime from its creation, or a sliding one that each request renews.
public struct SessionExpiry: Hashable, Sendable {
    /// How long the session lives after it is created, or after it is last renewed when sliding; also the cookie's
    /// `Max-Age` (rounded up to whole seconds).
    public let lifetime: Duration
    /// For sliding expiry, how long after a renewal the next request renews again; `nil` for a fixed lifetime.
    ///
    /// Renewing costs a store write and a `Set-Cookie`, so it is done at most once per interval rather than on every
    /// request: an idle session then expires between `lifetime - renewalInterval` and `lifetime` after the last
    /// request.
    public let renewalInterval: Duration?
    /// For sliding expiry, how long after its creation a session ends however busy it is (OWASP's absolute timeout);
    /// `nil` for none. A regenerated id (at a login) keeps the time its session was created.
    public let absoluteLifetime: Duration?

    init(lifetime: Duration, renewalInterval: Duration?, absoluteLifetime: Duration? = nil) {
        self.lifetime = lifetime
        self.renewalInterval = renewalInterval
        self.absoluteLifetime = absoluteLifetime
    }

    /// A fixed lifetime: the session expires `lifetime` after it is created (or regenerated), however busy it is.
    /// Changing a value keeps the expiry it had.
    public static func fixed(_ lifetime: Duration) -> SessionExpiry {
        SessionExpiry(lifetime: lifetime, renewalInterval: nil)
    }

    /// A sliding lifetime: the session expires `lifetime` after the request that last renewed it, and — with an
    /// `absolute` lifetime — `absolute` after it was created at the latest.
    /// - Parameters:
    ///   - lifetime: How long an idle session lives.
    ///   - interval: The least time between two renewals; by default a tenth of the lifetime, at most one minute.
    ///     A request that changes the session renews it whatever the interval, since it writes anyway.
    ///   - absolute: How long after its creation the session ends however busy it is; at least `lifetime`.
    ///     Sessions stored by a Stash without absolute lifetimes count from their last renewal.
    public static func sliding(_ lifetime: Duration, renewingAfter interval: Duration? = nil, endingAfter absolute: Duration? = nil) -> SessionExpiry
    {
        SessionExpiry(lifetime: lifetime, renewalInterval: interval ?? min(lifetime / 10, .seconds(60)), absoluteLifetime: absolute)
    }

    /// How long a session created at `createdAt` may live from `now` (milliseconds since the epoch): the lifetime,
    /// or less when the absolute lifetime ends sooner; zero or less when it has ended.
    func remaining(createdAt: Int64, now: Int64) -> Duration {
        guard let absolute = self.absoluteLifetime else { return self.lifetime }
        let left = absolute - .milliseconds(now - createdAt)
        return min(self.lifetime, left)
    }

    /// Checks the lifetime and renewal interval.
    func validate() throws(StashMiddlewareError) {
        guard self.lifetime > .zero, self.lifetime <= StoreLimits.maximumExpiry else {
            throw StashMiddlewareError.invalidConfiguration("a session lifetime must be positive and at most 100 years, not \(self.lifetime)")
        }
        if let interval = self.renewalInterval, interval <= .zero || interval >= self.lifetime {
            throw StashMiddlewareError.invalidConfiguration(
                "a session renewal interval must be positive and shorter than the lifetime, not \(interval)"
            )
        }
        if let absolute = self.absoluteLifetime, absolute < self.lifetime || absolute > StoreLimits.maximumExpiry {
            throw StashMiddlewareError.invalidConfiguration(
                "a session's absolute lifetime must be at least its lifetime (\(self.lifetime)) and at most 100 years, not \(absolute)"
            )
        }
    }
}
