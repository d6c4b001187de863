#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address, or a CIDR range of them (`10.0.0.0/8`, `fd00::/8`, `127.0.0.1`): how trusted proxies
/// are given. IPv4 addresses are kept as IPv4-mapped IPv6 addresses, so `::ffff:10.1.2.3` is in `10.0.0.0/8`.
public struct IPAddressRange: Sendable, Hashable, CustomStringConvertible {
    private let bytes: [UInt8]
    private let prefixLength: Int
    public let description: String

    /// Parses an address or a range.
    /// - Throws: ``StashMiddlewareError/Code/invalidConfiguration`` when it is neither.
    public init(_ text: String) throws(StashMiddlewareError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = Self.parse(String(parts[0])) else {
            throw StashMiddlewareError.invalidConfiguration("\(text.debugDescription) is not an IP address or a CIDR range")
        }
        var length = 128
        if parts.count == 2 {
            let isIPv4 = !parts[0].contains(":")
            guard let given = Int(parts[1]), given >= 0, given <= (isIPv4 ? 32 : 128) else {
                throw StashMiddlewareError.invalidConfiguration("\(text.debugDescription) has an invalid prefix length")
            }
            length = isIPv4 ? given + 96 : given
        }
        self.bytes = address
        self.prefixLength = length
        self.description = text
    }

    /// Whether an address (as text) is in the range; text that is not an address never is.
    public func contains(_ address: String) -> Bool {
        guard let other = Self.parse(address) else { return false }
        return self.contains(bytes: other)
    }

    func contains(bytes other: [UInt8]) -> Bool {
        var remaining = self.prefixLength
        for index in 0..<16 where remaining > 0 {
            let bits = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
            if self.bytes[index] & mask != other[index] & mask { return false }
            remaining -= bits
        }
        return true
    }

    /// Whether 16 bytes are an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`).
    static func isIPv4Mapped(_ bytes: [UInt8]) -> Bool {
        bytes.count == 16 && bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF
    }

    /// The text of 16 address bytes: an IPv4-mapped address as IPv4 (`192.0.2.1`), any other as canonical IPv6
    /// (RFC 5952: lower case, zeros compressed).
    static func format(_ bytes: [UInt8]) -> String {
        let mapped = Self.isIPv4Mapped(bytes)
        let source = mapped ? Array(bytes[12..<16]) : bytes
        var text = [CChar](repeating: 0, count: 64)
        let written = source.withUnsafeBytes { address in
            inet_ntop(mapped ? AF_INET : AF_INET6, address.baseAddress, &text, socklen_t(text.count))
        }
        guard written != nil else { return "" }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The 16 bytes of an IPv6 or IPv4 (mapped) address, or `nil` when the text is not one. Brackets and a zone
    /// (`%eth0`) are not accepted: callers strip them.
    static func parse(_ text: String) -> [UInt8]? {
        guard !text.isEmpty, text.utf8.count <= 45 else { return nil }
        var bytes = [UInt8](repeating: 0, count: 16)
        if text.contains(":") {
            let parsed = bytes.withUnsafeMutableBytes { inet_pton(AF_INET6, text, $0.baseAddress) }
            return parsed == 1 ? bytes : nil
        }
        var four = [UInt8](repeating: 0, count: 4)
        guard four.withUnsafeMutableBytes({ inet_pton(AF_INET, text, $0.baseAddress) }) == 1 else { return nil }
        bytes[10] = 0xFF
        bytes[11] = 0xFF
        bytes.replaceSubrange(12..<16, with: four)
        return bytes
    }
}
