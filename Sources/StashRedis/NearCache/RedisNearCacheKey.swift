#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A Redis key as the near cache's dictionaries hold it: its bytes, given in two parts so that a read looks a key up
/// as its namespace's prefix and the store key, without building the Redis key's string.
///
/// Compared and hashed by the bytes of `head` followed by `tail`, however they are split: the key of a push (the
/// whole Redis key, no tail) equals the key of a read (prefix and store key). Byte for byte, as Redis compares keys
/// (not by Swift's canonical equivalence, under which "é" equals "e" + U+0301).
struct RedisNearCacheKey: Hashable {
    let head: String
    let tail: String

    init(_ head: String, _ tail: String = "") {
        self.head = head
        self.tail = tail
    }

    /// The whole Redis key.
    var string: String { self.tail.isEmpty ? self.head : self.head + self.tail }

    static func == (lhs: Self, rhs: Self) -> Bool {
        guard lhs.head.utf8.count + lhs.tail.utf8.count == rhs.head.utf8.count + rhs.tail.utf8.count else { return false }
        // Native strings are contiguous: compare the parts' storage with memcmp, split where either part ends.
        let compared = lhs.withParts { left in rhs.withParts { right in Self.equal(left, right) } }
        return (compared ?? nil) ?? lhs.string.utf8.elementsEqual(rhs.string.utf8)
    }

    /// Calls `body` with the bytes of both parts, when both are contiguous.
    private func withParts<Result>(_ body: ((UnsafeRawBufferPointer, UnsafeRawBufferPointer)) -> Result) -> Result? {
        let result = self.head.utf8.withContiguousStorageIfAvailable { head in
            self.tail.utf8.withContiguousStorageIfAvailable { tail in body((UnsafeRawBufferPointer(head), UnsafeRawBufferPointer(tail))) }
        }
        return result ?? nil
    }

    /// Whether two keys of the same length, each given in two parts, have the same bytes.
    private static func equal(
        _ left: (UnsafeRawBufferPointer, UnsafeRawBufferPointer),
        _ right: (UnsafeRawBufferPointer, UnsafeRawBufferPointer)
    ) -> Bool {
        var (leftPart, leftOffset, rightPart, rightOffset) = (0, 0, 0, 0)
        func part(_ pair: (UnsafeRawBufferPointer, UnsafeRawBufferPointer), _ index: Int) -> UnsafeRawBufferPointer {
            index == 0 ? pair.0 : pair.1
        }
        while leftPart < 2 && rightPart < 2 {
            let leftBytes = part(left, leftPart)
            let rightBytes = part(right, rightPart)
            let count = min(leftBytes.count - leftOffset, rightBytes.count - rightOffset)
            if count > 0 {
                guard let leftBase = leftBytes.baseAddress, let rightBase = rightBytes.baseAddress,
                    memcmp(leftBase + leftOffset, rightBase + rightOffset, count) == 0
                else { return false }
            }
            leftOffset += count
            rightOffset += count
            if leftOffset == leftBytes.count { (leftPart, leftOffset) = (leftPart + 1, 0) }
            if rightOffset == rightBytes.count { (rightPart, rightOffset) = (rightPart + 1, 0) }
        }
        return true
    }

    func hash(into hasher: inout Hasher) {
        // Hasher takes bytes as a stream: the two parts hash as their concatenation would.
        Self.combine(self.head, into: &hasher)
        Self.combine(self.tail, into: &hasher)
    }

    private static func combine(_ part: String, into hasher: inout Hasher) {
        let hashed: Void? = part.utf8.withContiguousStorageIfAvailable { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        if hashed == nil {
            var copy = part
            copy.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        }
    }
}
