/// The hash slot of a key in Redis Cluster: CRC16 (XMODEM) of the key — or of its hash tag, the part between the
/// first `{` and the next `}` when that part is not empty — modulo 16384. Computed on the key's UTF-8 bytes in place,
/// without allocating.
enum RedisKeySlot {
    /// The number of hash slots.
    static let count = 16384

    /// The slot of a key.
    static func slot(of key: String) -> Int {
        var key = key
        return key.withUTF8 { Self.slot(of: $0) }
    }

    /// The slot of a key's bytes.
    static func slot(of bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var hashed = bytes[...]
        if let open = bytes.firstIndex(of: UInt8(ascii: "{")),
            let close = bytes[(open + 1)...].firstIndex(of: UInt8(ascii: "}")), close > open + 1
        {
            hashed = bytes[(open + 1)..<close]
        }
        return Int(Self.crc16(hashed) & 0x3FFF)
    }

    /// CRC16 with the polynomial 0x1021, initial value 0, no reflection (XMODEM), as the cluster specification gives.
    static func crc16(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc = (crc << 8) ^ Self.table[Int((crc >> 8) ^ UInt16(byte))]
        }
        return crc
    }

    private static let table: [UInt16] = (0..<256).map { index in
        var crc = UInt16(index) << 8
        for _ in 0..<8 {
            crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1
        }
        return crc
    }
}
