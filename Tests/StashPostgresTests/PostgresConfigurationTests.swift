import Stash
import StashPostgres
import Testing

/// Configuration and URLs: no server needed.
@Suite struct PostgresConfigurationTests {
    @Test func aFullURL() throws {
        let connection = try PostgresStore.Connection(url: "postgres://app:s%40cret%3A@db.internal:6543/my%20db?sslmode=disable&connect_timeout=3")
        #expect(connection.host == "db.internal")
        #expect(connection.port == 6543)
        #expect(connection.username == "app")
        #expect(connection.password == "s@cret:")
        #expect(connection.database == "my db")
        #expect(connection.connectTimeout == .seconds(3))
    }

    @Test func defaultsAndOtherForms() throws {
        let minimal = try PostgresStore.Connection(url: "postgresql://stash@localhost")
        #expect(minimal.host == "localhost")
        #expect(minimal.port == 5432)
        #expect(minimal.password == nil)
        #expect(minimal.database == nil)

        let ipv6 = try PostgresStore.Connection(url: "postgres://u:@[::1]:5433/db")
        #expect(ipv6.host == "::1")
        #expect(ipv6.port == 5433)
        #expect(ipv6.password == "", "an empty password is a password, not none")

        // '@' in a password must be escaped, but the last '@' ends the credentials all the same.
        let at = try PostgresStore.Connection(url: "postgres://u:p@ss@host/db")
        #expect(at.password == "p@ss")
        #expect(at.host == "host")

        for mode in ["prefer", "require", "verify-full"] {
            _ = try PostgresStore.Connection(url: "postgres://u@host/db?sslmode=\(mode)")
        }
    }

    @Test(arguments: [
        "",
        "redis://u@host/db",
        "postgres://host/db",
        "postgres://@host/db",
        "postgres://u@/db",
        "postgres://u@host:0/db",
        "postgres://u@host:65536/db",
        "postgres://u@host:port/db",
        "postgres://u@[::1/db",
        "postgres://u@host/db?sslmode=sometimes",
        "postgres://u@host/db?application_name=x",
        "postgres://u@host/db?connect_timeout=-1",
        "postgres://u@host/db#fragment",
        "postgres://u%zz@host/db",
        "postgres://u:secret%@host/db",
        "postgres://u@host/d%2Fb",
    ])
    func badURLsAreTypedErrors(_ url: String) {
        #expect {
            try PostgresStore.Connection(url: url)
        } throws: { error in
            (error as? StoreError)?.code == .invalidConfiguration
        }
        #expect {
            try PostgresStore(url: url)
        } throws: { error in
            (error as? StoreError)?.code == .invalidConfiguration
        }
    }

    @Test func aBadURLNeverShowsItsPassword() {
        do {
            _ = try PostgresStore.Connection(url: "postgres://user:hunter2@host:99999/db")
            Issue.record("a bad port must be refused")
        } catch {
            #expect(!"\(error)".contains("hunter2"), "the message hides the password: \(error)")
            #expect("\(error)".contains("***"))
        }
    }

    @Test(arguments: ["", "1table", "my-table", "my table", "\"quoted\"", "stash;drop", "é", String(repeating: "t", count: 53)])
    func badTableNamesAreTypedErrors(_ name: String) {
        #expect {
            try PostgresStore(url: "postgres://u@host/db", configuration: .init(tableName: name))
        } throws: { error in
            (error as? StoreError)?.code == .invalidConfiguration
        }
    }

    @Test func badSettingsAreTypedErrors() {
        let settings: [PostgresStore.Configuration] = [
            .init(maximumValueSize: -1), .init(timeout: .zero), .init(purgeInterval: .seconds(-1)), .init(purgeBatchSize: 0), .init(keysPageSize: 0),
        ]
        for configuration in settings {
            #expect(throws: StoreError.self) { try PostgresStore(url: "postgres://u@host/db", configuration: configuration) }
        }
        #expect(throws: StoreError.self) { try PostgresStore(connection: .init(username: "u", maximumConnections: 0)) }
    }

    @Test func validTableNames() throws {
        for name in ["stash", "_cache", "Sessions2", String(repeating: "t", count: 52)] {
            _ = try PostgresStore(url: "postgres://u@host/db", configuration: .init(tableName: name))
            #expect(try PostgresSchema.migrationSQL(table: name).contains("\"\(name)\""))
        }
    }

    @Test func theDocumentedSchema() throws {
        let sql = try PostgresSchema.migrationSQL()
        let table = """
            CREATE TABLE IF NOT EXISTS "stash" (
                namespace text COLLATE "C" NOT NULL,
                key bytea NOT NULL,
                value bytea NOT NULL,
                expires_at timestamptz,
                PRIMARY KEY (namespace, key)
            );
            CREATE INDEX IF NOT EXISTS "stash_expires_at" ON "stash" (expires_at) WHERE expires_at IS NOT NULL;
            CREATE OR REPLACE FUNCTION "stash_rate_limit"(
                entry_namespace text, entry_key bytea, algorithm text, request_limit bigint, window_ms bigint, burst bigint,
                block_ms bigint, operation_code text, amount bigint, operation_window bigint,
                OUT allowed boolean, OUT "limit" bigint, OUT remaining bigint, OUT reset_us bigint, OUT retry_after_us bigint,
                OUT window_start bigint
            ) LANGUAGE plpgsql VOLATILE AS $function$

            """
        #expect(sql.hasPrefix(table), "the table, its index, then the rate-limit function the documentation shows")
        #expect(sql.hasSuffix("\n$function$;\n"))
        #expect(sql.split(separator: "$function$", omittingEmptySubsequences: false).count == 5, "two functions, their bodies dollar-quoted")
        #expect(
            sql.contains("CREATE OR REPLACE FUNCTION \"stash_record\"(\n    entry_namespace text, entry_key bytea, operation text, renew_ms bigint,"),
            "then the record function the documentation names"
        )
    }
}
