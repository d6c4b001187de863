package import Crypto
import Foundation

extension Digest {
    /// The digest in lowercase hexadecimal, two digits per byte.
    package var hexadecimal: String {
        // Over the digest's bytes in place: iterating a digest as a sequence copies it into an array first.
        self.withUnsafeBytes { Hexadecimal.lowercase($0, count: Self.byteCount) }
    }
}

/// Bytes in lowercase hexadecimal, two digits per byte: digests, and PostgreSQL records' names and values.
package enum Hexadecimal {
    /// The `count` bytes of `bytes` in lowercase hexadecimal.
    package static func lowercase(_ bytes: some Sequence<UInt8>, count: Int) -> String {
        String(unsafeUninitializedCapacity: count * 2) { output in
            let digits: StaticString = "0123456789abcdef"
            return digits.withUTF8Buffer { digits in
                var index = 0
                for byte in bytes {
                    output[index] = digits[Int(byte >> 4)]
                    output[index + 1] = digits[Int(byte & 0x0f)]
                    index += 2
                }
                return index
            }
        }
    }

    /// A collection of bytes in lowercase hexadecimal.
    package static func lowercase(_ bytes: some Collection<UInt8>) -> String {
        Self.lowercase(bytes, count: bytes.count)
    }
}

extension HashFunction {
    /// The lowercase hexadecimal digest of some bytes: SHA-256 names file entries and stands in for over-long keys;
    /// SHA-1 names Redis scripts as `EVALSHA` expects.
    package static func hexDigest(_ bytes: some Sequence<UInt8>) -> String {
        let digest =
            bytes.withContiguousStorageIfAvailable { Self.hash(data: UnsafeRawBufferPointer($0)) }
            ?? Array(bytes).withUnsafeBytes { Self.hash(data: $0) }
        return digest.hexadecimal
    }
}
