import Foundation
import NIOCore
import NIOFoundationCompat
import Stash

/// A session's values as one `Codable` type (hummingbird-auth's `SessionData`): each stored property of the type is a
/// session key, its value stored as ``Session/setValue(_:forKey:)`` would store it. A request that changes some
/// properties writes only those keys, so requests of one session that change different properties at once all keep
/// their change — the merge guarantee of single values. Keys that are not the type's are left alone.
///
/// ```swift
/// struct Cart: Codable { var items: [String] = []; var coupon: String? }
/// try session.updateData(initial: Cart()) { cart in cart.items.append("book") }   // writes `items` only
/// let cart = try session.data(as: Cart.self)
/// ```
extension Session {
    /// The session's values decoded as one `Codable` type, or `nil` when the session holds no value.
    /// - Throws: ``StashMiddlewareError/Code/decodingFailed`` when the values do not decode as `Data` (a required
    ///   property missing, or of another type).
    public func data<Data: Decodable>(as type: Data.Type = Data.self) throws(StashMiddlewareError) -> Data? {
        let values = self.access { $0.values }
        guard !values.isEmpty else { return nil }
        return try Self.decode(type, from: values)
    }

    /// Changes the session's values as one `Codable` type: `body` changes the current data — or `initial`, when the
    /// session holds none of the type's keys — and the properties it changed are set, those it made `nil` removed.
    /// - Throws: ``StashMiddlewareError/Code/decodingFailed`` when the stored values do not decode as `Data`,
    ///   ``StashMiddlewareError/Code/encodingFailed`` when `Data` does not encode as an object of properties,
    ///   ``StashMiddlewareError/Code/invalidSessionKey`` for a property name no session key may have, and what
    ///   `body` throws (nothing is changed then).
    public func updateData<Data: Codable>(
        _ type: Data.Type = Data.self,
        initial: @autoclosure () -> Data,
        _ body: (inout Data) throws -> Void
    ) throws {
        let start = initial()
        let values = self.access { $0.values }
        let startMembers = try Self.members(of: start)
        var data: Data
        var before: [String: ByteBuffer]
        if startMembers.keys.contains(where: { values[$0] != nil }) {
            data = try Self.decode(type, from: values)
            before = try Self.members(of: data)
        } else {
            // Nothing of the type is stored yet: every property is written.
            (data, before) = (start, [:])
        }
        try body(&data)
        let after = try Self.members(of: data)
        for (key, value) in after where before[key] != value {
            try Self.validate(key)
            self.access { $0.setValue(value, forKey: key) }
        }
        for key in before.keys where after[key] == nil {
            self.access { $0.removeValue(forKey: key) }
        }
    }

    /// Decodes a type from the object whose members are `values`.
    private static func decode<Data: Decodable>(_ type: Data.Type, from values: [String: ByteBuffer]) throws(StashMiddlewareError) -> Data {
        var object = ByteBuffer(string: "{")
        for (index, (key, value)) in values.enumerated() {
            if index > 0 { object.writeString(",") }
            object.writeBytes(Self.quoted(key))
            object.writeString(":")
            object.writeImmutableBuffer(value)
        }
        object.writeString("}")
        do {
            return try JSONDecoder().decode(type, from: object)
        } catch {
            throw StashMiddlewareError(.decodingFailed, "the session's values are not a \(Data.self)", underlying: error)
        }
    }

    /// A key as a JSON string.
    private static func quoted(_ key: String) -> [UInt8] {
        // A String always encodes.
        (try? Array(JSONEncoder().encode(key))) ?? Array("\"\"".utf8)
    }

    /// The members of a value's JSON object: each property's name and its JSON, in the form a session value is stored.
    static func members<Data: Encodable>(of value: Data) throws(StashMiddlewareError) -> [String: ByteBuffer] {
        let encoder = JSONEncoder()
        // Sorted keys, so that an unchanged property encodes to the same bytes every time.
        encoder.outputFormatting = [.sortedKeys]
        let json: [UInt8]
        do {
            json = Array(try encoder.encode(value))
        } catch {
            throw StashMiddlewareError(.encodingFailed, "a \(Data.self) does not encode", underlying: error)
        }
        guard let members = JSONMembers.split(json) else {
            throw StashMiddlewareError(.encodingFailed, "a \(Data.self) does not encode as an object of properties: session data must")
        }
        return members
    }

    private static func validate(_ key: String) throws(StashMiddlewareError) {
        guard !key.isEmpty, key.utf8.count <= Self.maximumKeyLength, key.utf8.first != 0 else {
            throw StashMiddlewareError(.invalidSessionKey, "the property \(StoreError.describe(key)) cannot be a session key")
        }
    }
}

/// The members of a compact JSON object, as `JSONEncoder` writes one: each key (unescaped) and the bytes of its value.
enum JSONMembers {
    /// The members, or `nil` when the bytes are not one JSON object.
    static func split(_ json: [UInt8]) -> [String: ByteBuffer]? {
        var index = 0
        func skipSpace() {
            while index < json.count, [0x20, 0x09, 0x0A, 0x0D].contains(json[index]) { index += 1 }
        }
        skipSpace()
        guard index < json.count, json[index] == UInt8(ascii: "{") else { return nil }
        index += 1
        var members: [String: ByteBuffer] = [:]
        skipSpace()
        if index < json.count, json[index] == UInt8(ascii: "}") { return index + 1 == json.count ? members : nil }
        while index < json.count {
            skipSpace()
            guard index < json.count, json[index] == UInt8(ascii: "\""), let keyEnd = Self.endOfValue(json, from: index),
                let key = try? JSONDecoder().decode(String.self, from: Foundation.Data(json[index..<keyEnd]))
            else { return nil }
            index = keyEnd
            skipSpace()
            guard index < json.count, json[index] == UInt8(ascii: ":") else { return nil }
            index += 1
            skipSpace()
            guard let valueEnd = Self.endOfValue(json, from: index) else { return nil }
            members[key] = ByteBuffer(bytes: json[index..<valueEnd])
            index = valueEnd
            skipSpace()
            guard index < json.count else { return nil }
            if json[index] == UInt8(ascii: "}") { return index + 1 == json.count ? members : nil }
            guard json[index] == UInt8(ascii: ",") else { return nil }
            index += 1
        }
        return nil
    }

    /// Where the JSON value that starts at `start` ends (the index after it), or `nil` when it does not end.
    static func endOfValue(_ json: [UInt8], from start: Int) -> Int? {
        var index = start
        var depth = 0
        var inString = false
        while index < json.count {
            let byte = json[index]
            if inString {
                if byte == UInt8(ascii: "\\") {
                    index += 1
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                    if depth == 0 { return index + 1 }
                }
            } else {
                switch byte {
                case UInt8(ascii: "\""): inString = true
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    if depth == 0 { return index }
                    depth -= 1
                    if depth == 0 { return index + 1 }
                case UInt8(ascii: ","):
                    if depth == 0 { return index }
                default: break
                }
            }
            index += 1
        }
        return depth == 0 && !inString && index > start ? index : nil
    }
}
