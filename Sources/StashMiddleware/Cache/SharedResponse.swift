import HTTPTypes

/// What the leader of concurrent misses hands its followers: the response it stored, and which variant it is.
struct SharedResponse: Sendable {
    /// The stored response.
    let entry: CachedResponse
    /// The request fields the response varies on.
    let varyNames: [HTTPField.Name]
    /// The store key of the variant (the base key when the response does not vary).
    let key: String

    /// Whether the response is the one a request selects: the same variant, when it varies.
    func isSelected(by request: StashRequest, base: String) -> Bool {
        self.varyNames.isEmpty || CacheKeys.variantKey(base: base, names: self.varyNames, request: request.head.headerFields) == self.key
    }
}
