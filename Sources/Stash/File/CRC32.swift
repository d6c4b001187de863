/// CRC-32 (IEEE 802.3, the checksum of zip and PNG), which guards every entry file against truncation and damage.
package enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index)
        for _ in 0..<8 {
            crc = crc & 1 == 1 ? (crc >> 1) ^ 0xedb8_8320 : crc >> 1
        }
        return crc
    }

    /// Returns the checksum of some bytes.
    package static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        self.table.withUnsafeBufferPointer { table in
            var crc: UInt32 = 0xffff_ffff
            for byte in bytes {
                crc = table[Int((crc ^ UInt32(byte)) & 0xff)] ^ (crc >> 8)
            }
            return ~crc
        }
    }

    /// Returns the checksum of an array of bytes.
    package static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { self.checksum($0) }
    }
}
