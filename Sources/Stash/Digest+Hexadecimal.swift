package import Crypto

extension Digest {
    /// The digest in lowercase hexadecimal, two digits per byte.
    package var hexadecimal: String {
        String(unsafeUninitializedCapacity: Self.byteCount * 2) { output in
            let digits: StaticString = "0123456789abcdef"
            return digits.withUTF8Buffer { digits in
                var index = 0
                for byte in self {
                    output[index] = digits[Int(byte >> 4)]
                    output[index + 1] = digits[Int(byte & 0x0f)]
                    index += 2
                }
                return index
            }
        }
    }
}

extension HashFunction {
    /// The lowercase hexadecimal digest of some bytes: SHA-256 names file entries and stands in for over-long keys;
    /// SHA-1 names Redis scripts as `EVALSHA` expects.
    package static func hexDigest(_ bytes: some Sequence<UInt8>) -> String {
        var hasher = Self()
        if bytes.withContiguousStorageIfAvailable({ hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }) == nil {
            Array(bytes).withUnsafeBytes { hasher.update(bufferPointer: $0) }
        }
        return hasher.finalize().hexadecimal
    }
}
