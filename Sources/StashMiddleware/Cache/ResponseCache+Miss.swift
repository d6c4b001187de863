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

    /// The stale response stored for a request, and its key, when the handler is called to replace it: with a
    /// validator, the handler is asked whether it changed.
    typealias StaleEntry = (entry: CachedResponse, key: String)

    /// Answers a miss: concurrent misses of one key run the handler once and share the response when it is stored.
    func miss(
        _ request: StashRequest,
        next: (StashRequest) async throws -> StashResponse,
        key: String,
        reason: CacheStatus.Forward,
        context: MissContext,
        stale: StaleEntry? = nil
    ) async throws -> StashResponse {
        // A HEAD response has no body to store, and a request that forbids storing has nothing to share.
        guard !context.isHead, !context.directives.noStore else {
            return try await self.forward(request, next: next, context: context, status: CacheStatus(forward: reason))
        }
        switch try await self.coalescer.arrive(key) {
        case .leader:
            do {
                let status = CacheStatus(forward: reason)
                let (response, shared) = try await self.fetch(request, next: next, context: context, status: status, stale: stale)
                self.coalescer.finish(key, sharing: shared)
                return response
            } catch {
                self.coalescer.finish(key, sharing: nil)
                throw error
            }
        case .follower(let shared):
            if let shared = shared as? SharedResponse, shared.isSelected(by: request, base: context.base) {
                self.metrics.collapsed.increment()
                let status = CacheStatus(forward: reason, collapsed: true)
                return self.serve(shared.entry, to: request, isHead: false, now: self.now(), status: status.serialized(name: self.statusName))
            }
            return try await self.forward(request, next: next, context: context, status: CacheStatus(forward: reason, collapsed: false))
        }
    }

    /// Serves a stale response, unless no other request is refreshing it: then this one refreshes it, inline, and is
    /// served the fresh response (see ``fetch(_:next:context:status:stale:)``).
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
            let status = CacheStatus(forward: .stale)
            let response = try await self.fetch(request, next: next, context: context, status: status, stale: (entry, key)).response
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
    ///
    /// When the request replaces a stale stored response that has a validator, the handler is asked whether it
    /// changed (RFC 9111 §4.3): it gets `If-None-Match` with the stored `ETag` and `If-Modified-Since` with the stored
    /// `Last-Modified` (in place of the client's own). A 304 about the stored response refreshes it — its header
    /// fields replaced by the 304's, its freshness counted anew — and the stored body is served; a 304 about another
    /// response (another `ETag` or `Last-Modified`) is not used, and the handler is asked again without them. A full
    /// response replaces the stale one; one that may not be stored removes it.
    /// - Returns: The response, and what may be shared with concurrent requests: the stored response, or `nil`.
    func fetch(
        _ request: StashRequest,
        next: (StashRequest) async throws -> StashResponse,
        context: MissContext,
        status: CacheStatus,
        stale: StaleEntry? = nil
    ) async throws -> (response: StashResponse, shared: SharedResponse?) {
        var status = status
        var result: (response: StashResponse, shared: SharedResponse?)?
        if let stale, let conditional = Self.conditionalRequest(request, validating: stale.entry) {
            let requestTime = self.now()
            let answer = try await next(conditional)
            if answer.head.status.code != 304 {
                self.metrics.modified.increment()
                result = await self.keep(answer, for: request, context: context, status: status, requestTime: requestTime)
            } else if Self.validates(answer.head.headerFields, stored: stale.entry.headerFields) {
                status.forwardStatus = 304
                self.metrics.revalidated.increment()
                result = await self.refresh(stale.entry, with: answer, for: request, context: context, status: status, requestTime: requestTime)
            } else {
                self.metrics.modified.increment()
            }
        }
        if result == nil {
            let requestTime = self.now()
            result = await self.keep(try await next(request), for: request, context: context, status: status, requestTime: requestTime)
        }
        guard let result else { preconditionFailure("a response was fetched") }
        if let stale, result.shared == nil {
            do {
                try await self.store.delete(stale.key)
            } catch {
                self.storeFailed(error, key: stale.key, operation: "delete")
            }
        }
        return result
    }

    /// The request that asks the handler whether a stored response changed: `If-None-Match` with its `ETag` and
    /// `If-Modified-Since` with its `Last-Modified`, in place of the client's own; `nil` when it has neither.
    static func conditionalRequest(_ request: StashRequest, validating stored: CachedResponse) -> StashRequest? {
        let tag = stored.headerFields.value(of: .eTag)
        let lastModified = stored.headerFields.value(of: .lastModified)
        guard tag != nil || lastModified != nil else { return nil }
        var conditional = request
        conditional.head.headerFields[.ifNoneMatch] = tag
        conditional.head.headerFields[.ifModifiedSince] = lastModified
        return conditional
    }

    /// Whether a 304 the handler answered a conditional request with is about the stored response (RFC 9111
    /// §4.3.4): its `ETag` names the stored one (weak comparison), or, without one, its `Last-Modified` is the stored
    /// one. A 304 with neither answers the request the cache made, which named only the stored response's
    /// validators, and so validates it.
    static func validates(_ notModified: HTTPFields, stored: HTTPFields) -> Bool {
        if let tag = notModified.value(of: .eTag) {
            return stored.value(of: .eTag).map { EntityTagMatch.weaklyEqual(tag, $0) } ?? false
        }
        if let value = notModified.value(of: .lastModified) {
            guard let date = HTTPDate.seconds(value), let storedDate = stored.value(of: .lastModified).flatMap({ HTTPDate.seconds($0) }) else {
                return false
            }
            return date == storedDate
        }
        return true
    }

    /// Fields a 304 never replaces in the stored response (RFC 9111 §3.2): its `Content-Length` describes no body,
    /// and the connection's own fields are never stored.
    static let unrefreshedFields: [HTTPField.Name] = CachedResponse.unstoredFields.filter { $0 != .age } + [.contentLength]

    /// Refreshes a stale stored response with the 304 that validated it: each field the 304 has replaces the stored
    /// lines of that name (RFC 9111 §3.2), the freshness is counted from the 304, and the result is stored again —
    /// unless the refreshed fields no longer allow it, in which case it is served once and removed.
    private func refresh(
        _ stale: CachedResponse,
        with notModified: StashResponse,
        for request: StashRequest,
        context: MissContext,
        status: CacheStatus,
        requestTime: Int64
    ) async -> (response: StashResponse, shared: SharedResponse?) {
        let update = notModified.head.headerFields
        var head = stale.head
        if update.contains(where: { !Self.unrefreshedFields.contains($0.name) }) {
            // One pass each over a few fields: kept stored lines, then the 304's in their place.
            var fields = HTTPFields()
            fields.reserveCapacity(stale.headerFields.count + update.count)
            for field in stale.headerFields where Self.unrefreshedFields.contains(field.name) || !update.contains(field.name) {
                fields.append(field)
            }
            for field in update where !Self.unrefreshedFields.contains(field.name) {
                fields.append(field)
            }
            head.headerFields = fields
        }
        let refreshed = StashResponse(head: head, body: stale.body)
        var status = status
        let shared = await self.store(refreshed, for: request, context: context, status: &status, requestTime: requestTime)
        if let shared {
            return (self.serve(shared.entry, to: request, isHead: false, now: self.now(), status: status.serialized(name: self.statusName)), shared)
        }
        var response = StashResponse(head: CachedResponse(response: refreshed, storedAt: 0, lifetime: nil).head, body: stale.body)
        _ = self.takeTags(from: &response)
        self.addStatus(status, to: &response)
        return (response, nil)
    }

    /// Stores a response when it may be stored and adds `Cache-Status`; the client's copy loses the tag field.
    private func keep(
        _ response: StashResponse,
        for request: StashRequest,
        context: MissContext,
        status: CacheStatus,
        requestTime: Int64
    ) async -> (response: StashResponse, shared: SharedResponse?) {
        var response = response
        var status = status
        let shared = await self.store(response, for: request, context: context, status: &status, requestTime: requestTime)
        _ = self.takeTags(from: &response)
        self.addStatus(status, to: &response)
        return (response, shared)
    }

    /// Stores a response when it may be stored, saying in `status` what became of it.
    /// - Returns: What may be shared with concurrent requests: the stored response, or `nil`.
    private func store(
        _ response: StashResponse,
        for request: StashRequest,
        context: MissContext,
        status: inout CacheStatus,
        requestTime: Int64
    ) async -> SharedResponse? {
        let storability =
            context.isHead
            ? Storability.uncacheable("head") : self.storability(of: response, for: request, context: context, requestTime: requestTime)
        switch storability {
        case .uncacheable(let reason):
            self.metrics.miss.increment()
            status.detail = reason
            self.configuration.logger.trace("response not cached", metadata: ["key": "\(context.base)", "reason": "\(reason)"])
            return nil
        case .storable(let lifetime, let age, let varyNames):
            // Stored as if it had been in the cache for the age it arrived with: its Age and freshness count from then.
            let entry = CachedResponse(response: response, storedAt: self.now() - age, lifetime: lifetime)
            let key =
                varyNames.isEmpty
                ? context.base : CacheKeys.variantKey(base: context.base, names: varyNames, request: request.head.headerFields)
            do {
                guard try await self.write(entry, base: context.base, key: key, varyNames: varyNames) else {
                    self.metrics.miss.increment()
                    status.detail = "too-large"
                    return nil
                }
                self.metrics.stored.increment()
                status.stored = true
            } catch {
                self.storeFailed(error, key: key, operation: "write")
                self.metrics.miss.increment()
                status.detail = "store-error"
                // The response may be stored, so concurrent requests may have it even though the store failed.
            }
            return SharedResponse(entry: entry, varyNames: varyNames, key: key)
        }
    }

    /// Writes a response (and, when it varies, the URL's vary record). A variant joins its URL's set of variants, and
    /// a tagged response the set of each of its tags, before it is written (see ``CacheIndex``).
    /// - Returns: `false` when the entry is larger than the store takes.
    /// - Throws: What the store throws.
    private func write(_ entry: CachedResponse, base: String, key: String, varyNames: [HTTPField.Name]) async throws -> Bool {
        let value = CacheEntry.response(entry).encoded()
        guard value.readableBytes <= self.store.maximumValueSize else { return false }
        let now = self.now()
        // What is left of its freshness (all of it, unless it arrived with an age), then the stale grace — or, for a
        // response with a validator, the time it is kept to be revalidated, if longer.
        let keptStale = max(self.staleGrace ?? 0, Self.hasValidator(entry.headerFields) ? self.revalidationRetention : 0)
        var expiry = entry.freshness(at: now).map { Duration.milliseconds(max(max($0, 0) + keptStale, 1)) }
        if let limit = expiry, limit > Self.longestLifetime { expiry = Self.longestLifetime }
        var sets = (self.tags(in: entry.headerFields) ?? []).map { (CacheIndex.Kind.tag, $0) }
        if !varyNames.isEmpty { sets.append((.url, base)) }
        if !sets.isEmpty {
            let longest = Duration.milliseconds(CacheIndex.longestExpiry(at: now))
            expiry = min(expiry ?? longest, longest)
            try await CacheIndex.add(key, to: sets, store: self.store, now: now)
        }
        if !varyNames.isEmpty {
            try await self.store.set(base, value: CacheEntry.vary(varyNames).encoded(), expiresIn: expiry)
        }
        try await self.store.set(key, value: value, expiresIn: expiry)
        return true
    }

    /// The most tags a stored response may have; a response with more is not stored.
    static let maximumTags = 64

    /// The tags a response's tag field (``Configuration/tagField``) lists — separated by commas or spaces, each once,
    /// in order — or `nil` without one.
    func tags(in fields: HTTPFields) -> [String]? {
        guard let name = self.configuration.tagField, fields.contains(name) else { return nil }
        var tags: [String] = []
        for value in fields[values: name] {
            for tag in value.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" }) where !tags.contains(String(tag)) {
                tags.append(String(tag))
            }
        }
        return tags
    }

    /// Takes the tag field off a response: a stored response keeps it (it is how its tags are kept), a client never
    /// sees it.
    /// - Returns: The tags it listed, or `nil` without one.
    func takeTags(from response: inout StashResponse) -> [String]? {
        guard let tags = self.tags(in: response.head.headerFields), let name = self.configuration.tagField else { return nil }
        response.head.headerFields[name] = nil
        return tags
    }

    /// Logs and counts a failed store operation; the request goes on without the cache.
    func storeFailed(_ error: any Error, key: String, operation: String) {
        self.metrics.storeError.increment(recording: error)
        self.configuration.logger.debug(
            "response cache store failed",
            metadata: ["operation": "\(operation)", "key": "\(key)", "error": "\(error)"]
        )
    }
}
