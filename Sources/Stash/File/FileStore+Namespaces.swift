// How namespace names become directory names and back.
extension FileStore {
    /// The directory name of a valid namespace name: the name with each capital letter written `^` and the letter in
    /// lower case, then ``namespaceSuffix`` (`Sessions` → `^sessions.ns`).
    ///
    /// Directory names are all lower case, so `a` and `A` stay two directories on a case-insensitive file system
    /// (APFS's default), as they are two namespaces and two sets of lock stripes. `^` is not a namespace character,
    /// so the encoding cannot be ambiguous, and names without capitals read as they are.
    static func directoryName(ofNamespace name: String) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(name.utf8.count * 2 + Self.namespaceSuffix.utf8.count)
        for byte in name.utf8 {
            if (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) {
                bytes.append(UInt8(ascii: "^"))
                bytes.append(byte + (UInt8(ascii: "a") - UInt8(ascii: "A")))
            } else {
                bytes.append(byte)
            }
        }
        bytes.append(contentsOf: Self.namespaceSuffix.utf8)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The namespace name of a child directory's name, or `nil` when the name is not one this store makes: no
    /// ``namespaceSuffix``, a capital letter, a `^` not followed by a lower-case letter, or not a valid name once
    /// decoded.
    static func namespace(ofDirectoryName directoryName: String) -> String? {
        guard directoryName.hasSuffix(Self.namespaceSuffix) else { return nil }
        var bytes: [UInt8] = []
        var escaped = false
        for byte in directoryName.utf8.dropLast(Self.namespaceSuffix.utf8.count) {
            if escaped {
                guard (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) else { return nil }
                bytes.append(byte - (UInt8(ascii: "a") - UInt8(ascii: "A")))
                escaped = false
            } else if byte == UInt8(ascii: "^") {
                escaped = true
            } else if (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) {
                return nil
            } else {
                bytes.append(byte)
            }
        }
        let name = String(decoding: bytes, as: UTF8.self)
        guard !escaped, (try? StoreValidation.validateNamespace(name)) != nil else { return nil }
        return name
    }
}
