#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A key as the memory store's dictionaries hold it: compared and hashed by its UTF-8 bytes.
///
/// Swift's `String` equality is canonical equivalence ("é" equals "e" + U+0301); the store contract compares keys
/// byte for byte, as files, Redis and PostgreSQL do, so a key written by one backend is the same key in every other.
@usableFromInline
package struct MemoryKey: Hashable, Sendable {
    @usableFromInline package let string: String

    @inlinable
    package init(_ string: String) {
        self.string = string
    }

    @inlinable
    package static func == (lhs: Self, rhs: Self) -> Bool {
        let left = lhs.string.utf8
        let right = rhs.string.utf8
        guard left.count == right.count else { return false }
        // Native strings are contiguous: compare their storage directly (one memcmp), far faster than walking the
        // views.
        let compared = left.withContiguousStorageIfAvailable { leftBytes in
            right.withContiguousStorageIfAvailable { rightBytes in
                Self.bytesEqual(UnsafeRawBufferPointer(leftBytes), UnsafeRawBufferPointer(rightBytes))
            }
        }
        return (compared ?? nil) ?? left.elementsEqual(right)
    }

    /// Whether two buffers of the same length hold the same bytes.
    @usableFromInline
    static func bytesEqual(_ left: UnsafeRawBufferPointer, _ right: UnsafeRawBufferPointer) -> Bool {
        guard let leftBase = left.baseAddress, let rightBase = right.baseAddress else { return left.count == right.count }
        return left.count == right.count && memcmp(leftBase, rightBase, left.count) == 0
    }

    @inlinable
    package func hash(into hasher: inout Hasher) {
        let hashed: Void? = self.string.utf8.withContiguousStorageIfAvailable { bytes in
            hasher.combine(bytes: UnsafeRawBufferPointer(bytes))
        }
        if hashed == nil {
            for byte in self.string.utf8 { hasher.combine(byte) }
        }
    }
}
