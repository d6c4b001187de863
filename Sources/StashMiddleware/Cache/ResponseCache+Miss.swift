import HTTPTypes
import Logging
import Metrics
import NIOCore
import Stash

extension ResponseCache {
    /// What a request that goes to the handler needs to know to store the response.
    struct MissContext: Sendable {
        /// The URL's store key.
        let base: String
        /// The lifetime the configuration gives the response.
        let lifetime: Lifetime
        /// The request's `Cache-Control`.
        let directives: CacheControl
        /// Whether the request is a `HEAD` answered from `GET` entries.
        let isHead: Bool
    }

    /// Answers a miss: concurrent misses of one key run the handler once and share the response when it is stored.
    func miss(
        _ request: StashRequest,
        next: (StashRequest) async throws -> StashResponse,
        key: String,
        reason: CacheStatus.Forward,
        context: MissContext
    ) async throws -> StashResponse {
        // A HEAD response has no body to store, and a request that forbids storing has nothing to share.
        guard !context.isHead, !context.directives.noStore else {
            return try await self.forward(request, next: next, context: context, status: CacheStatus(forward: reason))
        }
        switch try await self.coalescer.arrive(key) {
        case .leader:
            do {
                let (response, shared) = try await self.fetch(request, next: next, context: context, status: CacheStatus(forward: reason))
                self.coalescer.finish(key, sharing: shared)
                return response
            } catch {
                self.coalescer.finish(key, sharing: nil)
                throw error
            }
        case .follower(let shared):
            if let shared, shared.isSelected(by: request, base: context.base) {
                self.metrics.collapsed.increment()
                let status = CacheStatus(forward: reason, collapsed: true)
                return self.serve(shared.entry, to: request, isHead: false, now: self.now(), status: status.serialized(name: self.statusName))
            }
            return try await self.forward(request, next: next, context: context, status: CacheStatus(forward: reason, collapsed: false))
        }
    }

    /// Serves a stale response, unless no other request is refreshing it: then this one refreshes it, inline, and is
    /// served the fresh response. A fresh response that may not be stored removes the stale one.
    func revalidate(
        _ entry: CachedResponse,
        key: String,
        request: StashRequest,
        next: (StashRequest) async throws -> StashResponse,
        context: MissContext,
        now: Int64
    ) async throws -> StashResponse {
        guard !context.isHead, self.coalescer.beginRevalidation(key) else {
            self.metrics.stale.increment()
            let status = CacheStatus(hit: true, ttl: entry.freshness(at: now).map(CacheStatus.seconds))
            return self.serve(entry, to: request, isHead: context.isHead, now: now, status: status.serialized(name: self.statusName))
        }
        do {
            let (response, shared) = try await self.fetch(request, next: next, context: context, status: CacheStatus(forward: .stale))
            if shared == nil {
                do {
                    try await self.store.delete(key)
                } catch {
                    self.storeFailed(error, key: key, operation: "delete")
                }
            }
            self.coalescer.endRevalidation(key)
            return response
        } catch {
            self.coalescer.endRevalidation(key)
            throw error
        }
    }

    /// Runs the handler and stores its response when it may be stored.
    func forward(
        _ request: StashRequest,
        next: (StashRequest) async throws -> StashResponse,
        context: MissContext,
        status: CacheStatus
    ) async throws -> StashResponse {
        try await self.fetch(request, next: next, context: context, status: status).response
    }

    /// Runs the handler, stores the response when it may be stored, and adds `Cache-Status`.
    /// - Returns: The response, and what may be shared with concurrent requests: the stored response, or `nil`.
    func fetch(
        _ request: StashRequest,
        next: (StashRequest) async throws -> StashResponse,
        context: MissContext,
        status: CacheStatus
    ) async throws -> (response: StashResponse, shared: SharedResponse?) {
        let requestTime = self.now()
        var response = try await next(request)
        var status = status
        var shared: SharedResponse?
        let storability =
            context.isHead
            ? Storability.uncacheable("head") : self.storability(of: response, for: request, context: context, requestTime: requestTime)
        switch storability {
        case .uncacheable(let reason):
            self.metrics.miss.increment()
            status.detail = reason
            self.configuration.logger.trace("response not cached", metadata: ["key": "\(context.base)", "reason": "\(reason)"])
        case .storable(let lifetime, let age, let varyNames):
            // Stored as if it had been in the cache for the age it arrived with: its Age and freshness count from then.
            let entry = CachedResponse(response: response, storedAt: self.now() - age, lifetime: lifetime)
            let key =
                varyNames.isEmpty
                ? context.base : CacheKeys.variantKey(base: context.base, names: varyNames, request: request.head.headerFields)
            do {
                if try await self.write(entry, base: context.base, key: key, varyNames: varyNames) {
                    self.metrics.stored.increment()
                    status.stored = true
                    shared = SharedResponse(entry: entry, varyNames: varyNames, key: key)
                } else {
                    self.metrics.miss.increment()
                    status.detail = "too-large"
                }
            } catch {
                self.storeFailed(error, key: key, operation: "write")
                self.metrics.miss.increment()
                status.detail = "store-error"
                // The response may be stored, so concurrent requests may have it even though the store failed.
                shared = SharedResponse(entry: entry, varyNames: varyNames, key: key)
            }
        }
        self.addStatus(status, to: &response)
        return (response, shared)
    }

    /// Writes a response (and, when it varies, the URL's vary record).
    /// - Returns: `false` when the entry is larger than the store takes.
    /// - Throws: What the store throws.
    private func write(_ entry: CachedResponse, base: String, key: String, varyNames: [HTTPField.Name]) async throws -> Bool {
        let value = CacheEntry.response(entry).encoded()
        guard value.readableBytes <= self.store.maximumValueSize else { return false }
        // What is left of its freshness (all of it, unless it arrived with an age), and the stale grace.
        var expiry = entry.freshness(at: self.now()).map { Duration.milliseconds(max($0, 1)) + .milliseconds(self.staleGrace ?? 0) }
        if let limit = expiry, limit > Self.longestLifetime { expiry = Self.longestLifetime }
        if !varyNames.isEmpty {
            try await self.store.set(base, value: CacheEntry.vary(varyNames).encoded(), expiresIn: expiry)
        }
        try await self.store.set(key, value: value, expiresIn: expiry)
        return true
    }

    /// Logs and counts a failed store operation; the request goes on without the cache.
    func storeFailed(_ error: any Error, key: String, operation: String) {
        self.metrics.storeError.increment()
        self.configuration.logger.debug(
            "response cache store failed",
            metadata: ["operation": "\(operation)", "key": "\(key)", "error": "\(error)"]
        )
    }
}
