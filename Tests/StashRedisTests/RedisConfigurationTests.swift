import NIOSSL
import Stash
import StashRedis
import Testing

@Suite struct RedisConfigurationTests {
    @Test func parsesURLs() throws {
        let plain = try RedisConfiguration(url: "redis://cache.internal")
        #expect(plain.host == "cache.internal" && plain.port == 6379 && plain.database == 0 && plain.password == nil)

        let full = try RedisConfiguration(url: "redis://app:p%40ss%3Aword@10.0.0.5:6380/7")
        #expect(full.host == "10.0.0.5" && full.port == 6380 && full.database == 7)
        #expect(full.username == "app" && full.password == "p@ss:word")

        let passwordOnly = try RedisConfiguration(url: "redis://:secret@localhost:6379")
        #expect(passwordOnly.username == nil && passwordOnly.password == "secret")

        let bare = try RedisConfiguration(url: "redis://s%2Fcret@localhost")
        #expect(bare.username == nil && bare.password == "s/cret" && bare.host == "localhost", "credentials without a colon are a password")

        let ipv6 = try RedisConfiguration(url: "redis://[::1]:7000/2")
        #expect(ipv6.host == "::1" && ipv6.port == 7000 && ipv6.database == 2)
        #expect(plain.tls == nil && full.tls == nil)

        let secure = try RedisConfiguration(url: "rediss://app:secret@cache.internal:6380/1?tls_server_name=redis.internal")
        #expect(secure.host == "cache.internal" && secure.port == 6380 && secure.database == 1 && secure.password == "secret")
        #expect(secure.tls?.serverName == "redis.internal")
        #expect(secure.tls?.configuration.certificateVerification == .fullVerification, "verification is on by default")
    }

    @Test(arguments: [
        "http://localhost", "redis://", "redis://host:0", "redis://host:70000", "redis://host:port", "redis://host/-1",
        "redis://host/db", "redis://host?timeout=1", "redis://[::1", "redis://user:%zz@host", "redis://user:%C3@host",
        "redis://:pass/word@host", "redis://host?tls_ca=/tmp/ca.pem", "rediss://host?tls_ca", "rediss://host?tls_cert=/tmp/a.pem",
        "rediss://host?tls_ca=/nonexistent/ca.pem", "redis+cluster://host/3",
    ])
    func rejectsMalformedURLs(_ url: String) {
        let error = #expect(throws: StoreError.self) { try RedisConfiguration(url: url) }
        #expect(error?.code == .invalidConfiguration, "\(url)")
    }

    @Test(arguments: [
        "redis://user:hunter2@host:99999", "redis://hunter2@host:99999", "redis://:hunter2@host/db", "redis://user:hunter2%zz@host",
        "rediss://hunter2@host?bogus=1", "rediss://user:hunter2@host?tls_ca=",
    ])
    func aBadURLNeverShowsItsPassword(_ url: String) {
        let error = #expect(throws: StoreError.self) { try RedisConfiguration(url: url) }
        #expect(error?.code == .invalidConfiguration)
        #expect(error.map { !"\($0)".contains("hunter2") } == true, "the message hides the password: \(String(describing: error))")
        #expect(error.map { "\($0)".contains("***") } == true, "\(String(describing: error))")
    }

    @Test func rejectsSettingsOutOfRange() {
        for configuration in [
            RedisConfiguration(minimumConnections: 5, maximumConnections: 2),
            RedisConfiguration(maximumConnections: 0),
            RedisConfiguration(commandTimeout: .zero),
            RedisConfiguration(keyPrefix: "a:b"),
            RedisConfiguration(keyPrefix: ""),
        ] {
            let error = #expect(throws: StoreError.self) { try RedisStore(configuration: configuration) }
            #expect(error?.code == .invalidConfiguration)
        }
    }
}
