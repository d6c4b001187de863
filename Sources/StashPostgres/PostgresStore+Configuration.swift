public import Logging
public import Stash

extension PostgresStore {
    /// How a PostgreSQL store uses its table: its name, whether to create it, the timeout, the purge and the limits.
    public struct Configuration: Sendable {
        /// The table's name: a letter or `_`, then letters, digits or `_`, at most 52 characters (so that the index
        /// and the rate-limit function, named after the table followed by `_expires_at` and `_rate_limit`, fit
        /// PostgreSQL's 63). It is looked up through the connection's `search_path`, and quoted, so it is
        /// case-sensitive.
        public var tableName: String
        /// Whether the store creates its table, index and rate-limit function when they are missing, before its first
        /// statement (see ``PostgresSchema``). Turn it off when your own migrations create them.
        public var createsTable: Bool
        /// The largest value accepted, in bytes (PostgreSQL's limit for a `bytea` is 1 GiB).
        public var maximumValueSize: Int
        /// How long one operation may take, waiting for a connection included, before it fails with
        /// ``/Stash/StoreError/Code/timedOut``. An operation that times out closes its connection, so no statement or
        /// transaction is left half-done on a connection another operation gets.
        public var timeout: Duration
        /// How often the background purge deletes expired rows while the store's ``PostgresStore/service`` runs.
        public var purgeInterval: Duration
        /// The most expired rows one statement of a purge deletes; a purge repeats it until fewer are left, so it
        /// never holds many row locks, nor runs one long statement, at once.
        public var purgeBatchSize: Int
        /// The most keys one page of ``PostgresStore/keys(withPrefix:)`` reads.
        public var keysPageSize: Int
        /// How many of the pool's connections the store keeps while its service runs, for operations that are one
        /// statement (all but ``PostgresStore/update(_:_:)``, ``PostgresStore/deleteAll()`` and the purge): they queue
        /// on the one with the fewest in flight rather than each leasing one from the pool, which costs more than the
        /// statement on a busy client. 8 by default; 0 leases a connection for every operation. A store that makes its
        /// own pool keeps at most half of ``Connection/maximumConnections``, so that updates get connections too; give
        /// a store on your own client one with room for them.
        public var sharedConnections: Int
        /// Whether the store runs its statements as named prepared statements, parsed and planned once per
        /// connection rather than on every execution: on by default. Turn it off behind a pooler that does not keep
        /// prepared statements (PgBouncer in transaction mode before 1.21).
        public var preparesStatements: Bool
        /// Where the store reports a failed background purge (at debug level), and where the pool it makes logs.
        public var logger: Logger

        /// Creates a configuration.
        /// - Parameters:
        ///   - tableName: The table's name; `stash` by default.
        ///   - createsTable: Whether the store creates its table when missing.
        ///   - maximumValueSize: The largest value accepted, in bytes.
        ///   - timeout: How long one operation may take.
        ///   - purgeInterval: How often the background purge runs.
        ///   - purgeBatchSize: The most rows one purge statement deletes.
        ///   - keysPageSize: The most keys one page of a key listing reads.
        ///   - sharedConnections: How many connections single statements share while the store runs.
        ///   - preparesStatements: Whether statements run as prepared statements.
        ///   - logger: Where failed purges are reported; by default nowhere.
        public init(
            tableName: String = "stash",
            createsTable: Bool = true,
            maximumValueSize: Int = StoreLimits.defaultMaximumValueSize,
            timeout: Duration = .seconds(5),
            purgeInterval: Duration = .seconds(60),
            purgeBatchSize: Int = 1000,
            keysPageSize: Int = 256,
            sharedConnections: Int = 8,
            preparesStatements: Bool = true,
            logger: Logger = Logger(label: "Stash.PostgresStore", factory: { _ in SwiftLogNoOpLogHandler() })
        ) {
            self.tableName = tableName
            self.createsTable = createsTable
            self.maximumValueSize = maximumValueSize
            self.timeout = timeout
            self.purgeInterval = purgeInterval
            self.purgeBatchSize = purgeBatchSize
            self.keysPageSize = keysPageSize
            self.sharedConnections = sharedConnections
            self.preparesStatements = preparesStatements
            self.logger = logger
        }

        /// The longest table name: PostgreSQL's 63-byte identifiers, less `_expires_at` for the index and
        /// `_rate_limit` for the function (both 11 bytes).
        static var maximumTableNameLength: Int { 52 }

        /// Checks every setting.
        /// - Throws: ``/Stash/StoreError/Code/invalidConfiguration``.
        func validate() throws(StoreError) {
            try Self.validateTableName(self.tableName)
            func invalid(_ reason: String) -> StoreError {
                StoreError(.invalidConfiguration, "invalid PostgresStore configuration: \(reason)")
            }
            guard self.maximumValueSize >= 0, self.maximumValueSize < 1 << 30 else {
                throw invalid("maximumValueSize must be between 0 and 1 GiB (PostgreSQL's bytea limit), not \(self.maximumValueSize)")
            }
            guard self.timeout > .zero else { throw invalid("timeout must be positive") }
            guard self.purgeInterval > .zero else { throw invalid("purgeInterval must be positive") }
            guard self.purgeBatchSize > 0 else { throw invalid("purgeBatchSize must be positive") }
            guard self.keysPageSize > 0 else { throw invalid("keysPageSize must be positive") }
            guard self.sharedConnections >= 0 else { throw invalid("sharedConnections must not be negative") }
        }

        /// Checks that a table name is a plain identifier the statements can quote.
        /// - Throws: ``/Stash/StoreError/Code/invalidConfiguration``.
        static func validateTableName(_ name: String) throws(StoreError) {
            let bytes = Array(name.utf8)
            let valid =
                !bytes.isEmpty && bytes.count <= Self.maximumTableNameLength
                && !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[0])
                && bytes.allSatisfy { byte in
                    switch byte {
                    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                        UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"):
                        true
                    default:
                        false
                    }
                }
            guard valid else {
                throw StoreError(
                    .invalidConfiguration,
                    "table name \(StoreError.describe(name)) is invalid: use 1 to \(Self.maximumTableNameLength) ASCII letters, digits "
                        + "or '_', not starting with a digit"
                )
            }
        }
    }
}
