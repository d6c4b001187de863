// PostgreSQL in production: a store from a URL or a struct, on a client the application already runs, the
// migration SQL for teams that run their own, and a round of operations against the server a URL names:
//
//     swift run PostgresProduction postgres://stash@127.0.0.1:5432/stash
//     swift run PostgresProduction --sql        # prints the migration

// snippet.hide
import NIOCore
import PostgresNIO
import Stash
import StashPostgres

// snippet.show
// snippet.url
/// A store with a pool of its own, from a libpq-style URL (`?sslmode=require` for TLS).
func fromURL() throws -> PostgresStore {
    try PostgresStore(url: "postgres://app:secret@db.internal:5432/app?sslmode=require")
}
// snippet.end

// snippet.struct
/// The same from structs, on a table of your choice, with the timeout every operation gets.
func fromConfiguration() throws -> PostgresStore {
    try PostgresStore(
        connection: .init(host: "db.internal", username: "app", password: "secret", database: "app", tls: .require(), maximumConnections: 32),
        configuration: .init(tableName: "stash", timeout: .seconds(5), purgeInterval: .seconds(60), sharedConnections: 8)
    )
}
// snippet.end

// snippet.client
/// A store on the PostgresClient the application already runs: the application runs the client; the store's service
/// keeps its shared connections and purges expired rows.
func onExistingClient(_ client: PostgresClient) throws -> PostgresStore {
    try PostgresStore(client: client, configuration: .init(createsTable: false))  // the table comes from your migrations
}
// snippet.end

// snippet.migration
/// The table, its index and its two functions, for your own migrations (then `createsTable: false`).
func migration() throws -> String {
    try PostgresSchema.migrationSQL(table: "stash")
}
// snippet.end

// snippet.run
let argument = CommandLine.arguments.dropFirst().first ?? "postgres://stash@127.0.0.1:5432/stash"
if argument == "--sql" {
    print(try migration())
} else {
    let root = try PostgresStore(url: argument)
    let sessions = try root.withNamespace("sessions")
    do {
        try await withThrowingDiscardingTaskGroup { group in
            // The service runs the pool; until it runs, operations wait, then time out.
            group.addTask { [root] in try await root.service.run() }
            try await sessions.set("greeting", value: ByteBuffer(string: "hello"), expiresIn: .seconds(60))
            print("get:", try await sessions.get("greeting").map { String(buffer: $0) } ?? "missing")
            print("expiry:", try await sessions.expiry(of: "greeting"))  // by the server's clock, to the millisecond
            print("counter:", try await sessions.increment("visits", by: 1, expiresIn: .seconds(60)))
            try await sessions.deleteAll()  // one range of the primary key: sessions/ and its children
            group.cancelAll()
        }
    } catch let error as StoreError {
        print("the store failed: \(error.code): \(error.message)")
    }
}
// snippet.end
