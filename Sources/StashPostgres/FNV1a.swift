/// The 64-bit FNV-1a hash: the same for the same text in every process, for names the store derives from text (a
/// prepared statement's, a migration's advisory lock).
enum FNV1a {
    static func hash(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return hash
    }
}
