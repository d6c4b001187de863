public import NIOCore
import PostgresNIO
public import Stash

extension PostgresStore {
    /// Adds to a counter in one statement (`INSERT … ON CONFLICT … DO UPDATE … RETURNING`), creating it with the
    /// expiry when it is missing or expired; the server parses, adds and checks for overflow, so concurrent
    /// increments from any number of instances are exact.
    /// - Returns: The counter's value after the increment.
    /// - Throws: ``/Stash/StoreError/Code/conversionFailed`` when the stored value is not a canonical decimal 64-bit integer
    ///   or the sum overflows; the value is left as it was.
    public func increment(_ key: String, by amount: Int64, initialValue: Int64, expiresIn: Duration?) async throws -> Int64 {
        try StoreValidation.validateKey(key)
        let milliseconds = try StoreValidation.validateExpiry(expiresIn)
        let (start, overflow) = initialValue.addingReportingOverflow(amount)
        guard !overflow else {
            // The new counter's value cannot be computed up front: decide under the row's lock instead.
            return try await self.incrementByUpdate(key, by: amount, initialValue: initialValue, expiresIn: expiresIn)
        }
        var binds = self.bindings(key)
        binds.append(start)
        binds.append(milliseconds)
        binds.append(amount)
        let query = PostgresQuery(unsafeSQL: self.storage.statements.increment, binds: binds)
        let value: ByteBuffer?
        do {
            value = try await self.storage.first(ByteBuffer.self, of: query)
        } catch let error as StoreError {
            // The statement makes a stored value that is not a counter fail its cast (22P02), and an out of range
            // counter or sum fail with 22003.
            switch PostgresStorage.sqlState(of: error) {
            case "22P02": throw StoreError.notAnInteger(key: key)
            case "22003": throw StoreError.overflow(key: key)
            default: throw error
            }
        }
        guard let value, let counter = StoreCounter.parse(value) else {
            throw StoreError(.protocolError, "PostgreSQL returned no counter for key \(StoreError.describe(key))")
        }
        return counter
    }

    /// Increments through ``update(_:_:)``, for a start value that overflows whether or not it is needed.
    private func incrementByUpdate(_ key: String, by amount: Int64, initialValue: Int64, expiresIn: Duration?) async throws -> Int64 {
        let stored = try await self.update(key) { current in
            let value = try StoreCounter.incremented(current, by: amount, initialValue: initialValue, key: key)
            let encoded = StoreCounter.encode(value)
            return current == nil ? .set(encoded, expiresIn: expiresIn) : .setKeepingExpiry(encoded)
        }
        guard let stored, let counter = StoreCounter.parse(stored) else {
            throw StoreError(.protocolError, "PostgreSQL returned no counter for key \(StoreError.describe(key))")
        }
        return counter
    }

    /// Reads, transforms and writes back one value in a transaction that locks its row (`SELECT … FOR UPDATE`).
    ///
    /// Concurrent updates of a key, from any number of instances, wait for each other's row lock and lose nothing.
    /// When the key has no row yet, two updates can both see it missing; the second's insert then finds the first's
    /// row, and it starts again, running `transform` once more on the value now stored. `transform` runs while the
    /// row is locked and a pooled connection is held: keep it short.
    /// - Throws: The transform's own error, as it is, leaving the value unchanged.
    public func update(
        _ key: String,
        _ transform: @escaping @Sendable (ByteBuffer?) throws -> StoreUpdate
    ) async throws -> ByteBuffer? {
        try StoreValidation.validateKey(key)
        return try await self.storage.perform { connection in
            while true {
                let outcome = try await self.storage.transaction(on: connection) {
                    try await self.updateOnce(key, transform, on: connection)
                }
                if case .stored(let value) = outcome {
                    return value
                }
                try Task.checkCancellation()
            }
        }
    }

    private enum UpdateOutcome: Sendable {
        /// The update is done; the value now stored, if any.
        case stored(ByteBuffer?)
        /// Another writer created the row meanwhile: start again.
        case conflict
    }

    /// One attempt at an update, inside a transaction.
    private func updateOnce(
        _ key: String,
        _ transform: @Sendable (ByteBuffer?) throws -> StoreUpdate,
        on connection: PostgresConnection
    ) async throws -> UpdateOutcome {
        let selected = try await self.storage.rows(
            of: PostgresQuery(unsafeSQL: self.storage.statements.selectForUpdate, binds: self.bindings(key)),
            on: connection
        ).first
        // 0: live without expiry, 1: live with one, 2: expired; no row: missing.
        let row = try selected.map { try $0.decode((ByteBuffer, Int32).self) }
        let exists = row != nil
        let live = row.flatMap { $0.1 == 2 ? nil : $0 }

        let decision: StoreUpdate
        do {
            decision = try transform(live?.0)
        } catch {
            throw TransformFailure(underlying: error)
        }
        switch decision {
        case .unchanged:
            return .stored(live?.0)
        case .delete:
            if exists {
                try await self.storage.execute(PostgresQuery(unsafeSQL: self.storage.statements.delete, binds: self.bindings(key)), on: connection)
            }
            return .stored(nil)
        case .set(let value, let expiresIn):
            let milliseconds = try StoreValidation.validateWrite(
                key: key,
                value: value,
                expiresIn: expiresIn,
                maximumValueSize: self.maximumValueSize
            )
            return try await self.write(key, value: value, milliseconds: milliseconds, exists: exists, keepsExpiry: false, on: connection)
        case .setKeepingExpiry(let value):
            try StoreValidation.validateValue(value, maximumSize: self.maximumValueSize)
            // An expired row's expiry is not kept: the key was missing.
            return try await self.write(key, value: value, milliseconds: nil, exists: exists, keepsExpiry: live != nil, on: connection)
        }
    }

    /// Writes an update's value: over the locked row when there is one, else as a new row unless another writer made
    /// one meanwhile.
    private func write(
        _ key: String,
        value: ByteBuffer,
        milliseconds: Int64?,
        exists: Bool,
        keepsExpiry: Bool,
        on connection: PostgresConnection
    ) async throws -> UpdateOutcome {
        let statements = self.storage.statements
        let binds = self.bindings(key, value: value, milliseconds: milliseconds)
        if exists {
            if keepsExpiry {
                var valueOnly = self.bindings(key)
                valueOnly.append(value)
                try await self.storage.execute(PostgresQuery(unsafeSQL: statements.updateValue, binds: valueOnly), on: connection)
            } else {
                try await self.storage.execute(PostgresQuery(unsafeSQL: statements.updateValueAndExpiry, binds: binds), on: connection)
            }
            return .stored(value)
        }
        let inserted = try await self.storage.first(Int32.self, of: PostgresQuery(unsafeSQL: statements.insertIfAbsent, binds: binds), on: connection)
        return inserted == nil ? .conflict : .stored(value)
    }
}
