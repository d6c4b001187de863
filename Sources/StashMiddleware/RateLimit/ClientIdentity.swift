import HTTPTypes

/// How the rate limiter tells clients apart.
///
/// By default, by the connection's peer address. Behind a reverse proxy every request comes from the proxy, so
/// name the proxies you run: only for a request whose peer is one of them are `Forwarded` (RFC 7239) or, when that
/// is absent, `X-Forwarded-For` read — from the right, skipping the trusted proxies, to the first address that is not
/// one. A client can prepend anything to those headers; it cannot get past the last trusted proxy. A malformed
/// entry ends the walk at the proxy that passed it on.
///
/// An IPv6 client is its subnet, a /56 by default: one host is given a /64 or more by its provider and can use any
/// address in it, so limiting single IPv6 addresses would let it rotate through billions of them. An IPv4 address
/// (or an IPv4-mapped IPv6 one, `::ffff:192.0.2.1`) is itself.
public struct ClientIdentity: Sendable {
    let resolve: @Sendable (StashRequest) -> String?
    /// What is wrong with the configuration, as a request shows it (a warning for people), if anything.
    let diagnose: (@Sendable (StashRequest) -> String?)?

    init(resolve: @escaping @Sendable (StashRequest) -> String?, diagnose: (@Sendable (StashRequest) -> String?)? = nil) {
        self.resolve = resolve
        self.diagnose = diagnose
    }

    /// The prefix length of the IPv6 subnets that count as one client unless told otherwise.
    public static let defaultIPv6Subnet = 56

    /// The peer address, and forwarded addresses only from the given trusted proxies.
    /// - Parameters:
    ///   - trustedProxies: Addresses or CIDR ranges (`10.0.0.0/8`, `::1`).
    ///   - ipv6Subnet: The prefix length (1 to 128) of the IPv6 subnet that counts as one client: 56 by default,
    ///     64 for one LAN, 128 for single addresses.
    /// - Throws: ``StashMiddlewareError/Code/invalidConfiguration`` for an entry that is not an address or range, or a
    ///   subnet length out of range.
    public static func clientAddress(
        trustedProxies: [String] = [],
        ipv6Subnet: Int = Self.defaultIPv6Subnet
    ) throws(StashMiddlewareError) -> ClientIdentity {
        var ranges: [IPAddressRange] = []
        for proxy in trustedProxies { ranges.append(try IPAddressRange(proxy)) }
        let trusted = ranges
        let subnet = try Self.validatedSubnet(ipv6Subnet)
        return ClientIdentity(
            resolve: { request in Self.clientAddress(of: request, trusting: trusted).map { Self.client(of: $0, ipv6Subnet: subnet) } },
            diagnose: { request in Self.untrustedForwarding(in: request, trusting: trusted) }
        )
    }

    /// An identity of your own (an API key, a user id); `nil` falls back to the peer address (an IPv6 one grouped by
    /// its /56, as ``clientAddress(trustedProxies:ipv6Subnet:)`` does).
    public static func custom(_ identify: @escaping @Sendable (StashRequest) -> String?) -> ClientIdentity {
        ClientIdentity(resolve: { request in
            identify(request) ?? request.peerAddress.map { Self.client(of: $0, ipv6Subnet: Self.defaultIPv6Subnet) }
        })
    }

    /// The warning a request with `Forwarded` or `X-Forwarded-For` from a peer that is not a trusted proxy calls for
    /// (express-rate-limit's `validate`): behind a proxy nobody named, every client shares the proxy's address, and
    /// so one limit.
    static func untrustedForwarding(in request: StashRequest, trusting trusted: [IPAddressRange]) -> String? {
        let fields = request.head.headerFields
        guard let peer = request.peerAddress, fields.contains(.forwarded) || fields.contains(.xForwardedFor) else { return nil }
        if let bytes = IPAddressRange.parse(peer), trusted.contains(where: { $0.contains(bytes: bytes) }) { return nil }
        let field = fields.contains(.forwarded) ? "Forwarded" : "X-Forwarded-For"
        return "a request came from \(peer) with \(field), but \(peer) is not a trusted proxy, so the field is ignored: if "
            + "\(peer) is your reverse proxy, every client behind it now shares its rate limit; name it in "
            + ".clientAddress(trustedProxies:) (if it is not, a client is sending the field itself, and ignoring it is right)"
    }

    static func validatedSubnet(_ length: Int) throws(StashMiddlewareError) -> Int {
        guard (1...128).contains(length) else {
            throw StashMiddlewareError.invalidConfiguration("an IPv6 subnet length is 1 to 128, not \(length)")
        }
        return length
    }

    /// The client an address stands for: an IPv4 address as it is, an IPv4-mapped IPv6 one as IPv4, any other IPv6 one
    /// as its subnet (`2001:db8:1:2300::/56`, in the canonical form whatever the spelling); text that is not an
    /// address, as it is.
    static func client(of address: String, ipv6Subnet: Int) -> String {
        // Text without a colon is IPv4 (or not an address): itself, as before grouping — the common case costs nothing.
        guard address.utf8.contains(UInt8(ascii: ":")), var bytes = IPAddressRange.parse(address) else { return address }
        if IPAddressRange.isIPv4Mapped(bytes) { return IPAddressRange.format(bytes) }
        for index in 0..<16 {
            let kept = min(8, max(0, ipv6Subnet - index * 8))
            bytes[index] &= UInt8(truncatingIfNeeded: 0xFF << (8 - kept))
        }
        let text = IPAddressRange.format(bytes)
        return ipv6Subnet == 128 ? text : text + "/\(ipv6Subnet)"
    }

    static func clientAddress(of request: StashRequest, trusting trusted: [IPAddressRange]) -> String? {
        guard let peer = request.peerAddress else { return nil }
        func isTrusted(_ address: String) -> Bool {
            guard let bytes = IPAddressRange.parse(address) else { return false }
            return trusted.contains { $0.contains(bytes: bytes) }
        }
        guard !trusted.isEmpty, isTrusted(peer) else { return peer }
        let chain: [String?]
        if let forwarded = request.head.headerFields.value(of: .forwarded) {
            chain = Self.forwardedFor(forwarded)
        } else if let forwardedFor = request.head.headerFields.value(of: .xForwardedFor) {
            chain = forwardedFor.split(separator: ",").map { Self.address(in: $0) }
        } else {
            return peer
        }
        var client = peer
        for entry in chain.reversed() {
            guard let address = entry else { break }  // malformed: the last trusted hop is all we know
            client = address
            if !isTrusted(address) { break }
        }
        return client
    }

    /// The `for=` of each element of a `Forwarded` field (`nil` for an element without one, or with an unusable
    /// one: `unknown`, an obfuscated `_name`).
    static func forwardedFor(_ field: String) -> [String?] {
        field.split(separator: ",").map { element in
            for pair in element.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, parts[0].trimmingSpaces.lowercased() == "for" else { continue }
                var value = parts[1].trimmingSpaces
                if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = value.dropFirst().dropLast() }
                return Self.address(in: value)
            }
            return nil
        }
    }

    /// The address in an entry: `1.2.3.4`, `1.2.3.4:80`, `[::1]`, `[::1]:80`, `::1`; `nil` when it is none.
    static func address(in entry: Substring) -> String? {
        var text = entry.trimmingSpaces
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            text = text[text.index(after: text.startIndex)..<close]
        } else if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
            text = text[..<colon]  // IPv4 with a port
        }
        let address = String(text)
        return IPAddressRange.parse(address) == nil ? nil : address
    }
}

extension HTTPField.Name {
    static let forwarded = HTTPField.Name("Forwarded")!
    static let xForwardedFor = HTTPField.Name("X-Forwarded-For")!
}

extension Substring {
    var trimmingSpaces: Substring {
        var text = self
        while let first = text.first, first == " " || first == "\t" { text.removeFirst() }
        while let last = text.last, last == " " || last == "\t" { text.removeLast() }
        return text
    }
}
