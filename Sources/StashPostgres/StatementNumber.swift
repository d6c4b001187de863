/// A whole number spelled as a type, in binary: ``StoreStatement`` is generic over one, so that each statement of the
/// store has a type of its own whose static `name` and `sql` postgres-nio can read at any time.
///
/// `Zero` is 0, `Twice<N>` is 2N and `TwicePlusOne<N>` is 2N + 1; ``StatementNumbers/type(of:)`` makes the type of
/// any number at run time (a few levels of generic types: 1,000 statements need 10).
protocol StatementNumber {
    static var value: Int { get }
}

enum Zero: StatementNumber {
    static var value: Int { 0 }
}

enum Twice<Half: StatementNumber>: StatementNumber {
    static var value: Int { Half.value &* 2 }
}

enum TwicePlusOne<Half: StatementNumber>: StatementNumber {
    static var value: Int { Half.value &* 2 &+ 1 }
}

enum StatementNumbers {
    /// The type spelling a non-negative number.
    static func type(of number: Int) -> any StatementNumber.Type {
        precondition(number >= 0, "statement numbers are not negative")
        guard number > 0 else { return Zero.self }
        func spelled<Half: StatementNumber>(_: Half.Type) -> any StatementNumber.Type {
            number & 1 == 1 ? TwicePlusOne<Half>.self : Twice<Half>.self
        }
        return spelled(Self.type(of: number >> 1))
    }
}
