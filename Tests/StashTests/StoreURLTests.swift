import Stash
import Testing

/// The one URL reader of the stores that take a server's URL (`redis://`, `postgres://`).
@Suite struct StoreURLTests {
    typealias Server = StoreURL.Components.Server

    @Test func aFullURLIsTakenApart() throws {
        let url = try StoreURL.components(of: "Redis://app:p%40ss%3Aword@10.0.0.5:6380/7?a=1&flag&b=x%20y")
        #expect(url.scheme == "redis")
        #expect(url.user == "app" && url.password == "p@ss:word")
        #expect(url.servers == [Server(host: "10.0.0.5", port: 6380)])
        #expect(url.path == "7")
        #expect(url.parameters.map(\.name) == ["a", "flag", "b"] && url.parameters.map(\.value) == ["1", nil, "x y"])
    }

    @Test func credentialsHostsAndPaths() throws {
        let bare = try StoreURL.components(of: "postgres://localhost")
        #expect(bare.user == nil && bare.password == nil && bare.servers == [Server(host: "localhost", port: nil)] && bare.path == nil)
        #expect(try StoreURL.components(of: "x://h/").path == "", "a lone / is an empty path")
        let userOnly = try StoreURL.components(of: "x://secret@h")
        #expect(userOnly.user == "secret" && userOnly.password == nil)
        let emptyPassword = try StoreURL.components(of: "x://u:@h")
        #expect(emptyPassword.user == "u" && emptyPassword.password == "")
        let lastAt = try StoreURL.components(of: "x://u:p@ss@h/db")
        #expect(lastAt.password == "p@ss" && lastAt.servers == [Server(host: "h", port: nil)], "the last @ ends the credentials")
        let atInPath = try StoreURL.components(of: "x://h/a@b")
        #expect(atInPath.user == nil && atInPath.path == "a@b", "an @ after the authority is not a credential")
        let ipv6 = try StoreURL.components(of: "x://[::1]:7000,[fe80::1],h2:9/0")
        #expect(ipv6.servers == [Server(host: "::1", port: 7000), Server(host: "fe80::1", port: nil), Server(host: "h2", port: 9)])
        let encodedPath = try StoreURL.components(of: "x://u@h/my%20db")
        #expect(encodedPath.path == "my db")
    }

    @Test(arguments: [
        ("", "scheme"), ("localhost:6379", "scheme"), ("://h", "scheme"), ("x://", "host"), ("x://u@", "host"),
        ("x://h,", "host"), ("x://h:0", "port"), ("x://h:65536", "port"), ("x://h:port", "port"), ("x://[::1", "]"),
        ("x://[::1]x", "after the IPv6"), ("x://h#f", "fragment"), ("x://u:%zz@h", "password"), ("x://%C3@h", "user"),
        ("x://h/%2", "path"), ("x://h?a=%", "parameter"),
    ])
    func malformedURLsSayWhy(_ url: String, _ reason: String) {
        #expect(throws: StoreURL.Malformed.self, "\(url)") { try StoreURL.components(of: url) }
        do {
            _ = try StoreURL.components(of: url)
        } catch {
            #expect(error.reason.contains(reason), "\(url): \(error.reason)")
        }
    }

    @Test func theRedactionReadsTheAuthorityAsTheParserDoes() {
        #expect(StoreURL.redactingPassword("redis://u:secret@h/0") == "redis://u:***@h/0")
        #expect(StoreURL.redactingPassword("redis://secret@h") == "redis://***@h")
        #expect(StoreURL.redactingPassword("postgres://u:p@ss@h/db") == "postgres://u:***@h/db")
        #expect(StoreURL.redactingPassword("postgres://u@h/a:b@c") == "postgres://u@h/a:b@c", "no credentials after the authority")
    }
}
