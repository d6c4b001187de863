import Crypto
import Stash

/// Session ids: 256 bits from the system's secure generator, as 43 characters of unpadded base64url.
package enum SessionID {
    /// The store key of a session: the SHA-256 of its id, in hexadecimal (64 characters, never a well-formed id), so
    /// that what a store holds — a dump, a backup, a `SCAN` — names no session a cookie could carry.
    package static func storeKey(of id: String) -> String {
        SHA256.hexDigest(id.utf8)
    }

    /// The length of an id, in characters: 32 bytes in base64url without padding.
    package static let length = 43

    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// A new id.
    ///
    /// `SystemRandomNumberGenerator` is the right source: Swift's documentation says it "uses a cryptographically
    /// secure algorithm whenever possible", and its runtime (`stdlib/public/stubs/Random.cpp`) reads Linux's
    /// `getrandom(2)` with no flags, which blocks until the kernel's CSPRNG is seeded, falling back to `/dev/urandom`
    /// and stopping the process rather than returning weak bytes; on Apple platforms it is `arc4random_buf(3)`.
    package static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let words = (generator.next(), generator.next(), generator.next(), generator.next())
        return withUnsafeBytes(of: words) { bytes in
            String(unsafeUninitializedCapacity: Self.length) { output in
                var written = 0
                var index = 0
                while index + 3 <= bytes.count {
                    let group = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
                    for shift in [18, 12, 6, 0] {
                        output[written] = Self.alphabet[Int((group >> UInt32(shift)) & 0x3F)]
                        written += 1
                    }
                    index += 3
                }
                // 32 = 30 + 2: the last two bytes make three characters, the last holding 4 bits and 2 zero bits.
                let group = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8
                for shift in [18, 12, 6] {
                    output[written] = Self.alphabet[Int((group >> UInt32(shift)) & 0x3F)]
                    written += 1
                }
                return written
            }
        }
    }

    /// Whether a cookie value's bytes are shaped like an id this middleware issues: exactly 43 base64url characters, the
    /// last one with its two padding bits clear. Anything else is never looked up in the store.
    package static func isWellFormed(_ utf8: some Collection<UInt8>) -> Bool {
        guard utf8.count == Self.length else { return false }
        var last: UInt8 = 0
        for byte in utf8 {
            guard let sextet = Self.sextet(byte) else { return false }
            last = sextet
        }
        return last & 0b11 == 0
    }

    private static func sextet(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): byte - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): byte - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0") + 52
        case UInt8(ascii: "-"): 62
        case UInt8(ascii: "_"): 63
        default: nil
        }
    }
}
