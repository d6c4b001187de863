import Foundation
import NIOCore
import Stash
import StashRedis
import StashTesting
import Testing

/// TLS against the redis-servers `scripts/test.sh` starts with throw-away certificates: one that takes a client
/// certificate if given, one that requires it. (The conformance suite also runs over TLS: `RedisStoreConformanceTests`.)
@Suite struct RedisTLSTests {
    static func environment(_ variable: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[variable], !value.isEmpty else {
            throw RedisTestServer.Missing(variable: variable)
        }
        return value
    }

    static func file(_ name: String) throws -> String {
        try Self.environment("STASH_TLS_DIRECTORY") + "/" + name
    }

    /// The one-way TLS server's configuration, with `tls` in place of the URL's, and a short connect timeout.
    static func configuration(url variable: String = "STASH_REDIS_TLS_URL", tls: RedisTLS? = nil) throws -> RedisConfiguration {
        var configuration = try RedisConfiguration(url: Self.environment(variable))
        if let tls { configuration.tls = tls }
        configuration.connectTimeout = .seconds(3)
        configuration.commandTimeout = .seconds(3)
        configuration.maximumReconnectDelay = .milliseconds(200)
        return configuration
    }

    static func roundTrip(_ store: RedisStore) async throws -> String? {
        let namespace = try store.withNamespace("tls-" + UUID().uuidString.prefix(8).lowercased())
        try await namespace.set("k", value: ByteBuffer(string: "over TLS"), expiresIn: .seconds(30))
        return try await namespace.get("k").map { String(buffer: $0) }
    }

    /// The error the first command of a store gets.
    static func firstError(_ configuration: RedisConfiguration) async throws -> StoreError? {
        let store = try RedisStore(configuration: configuration)
        do {
            _ = try await store.get("k")
            return nil
        } catch let error as StoreError {
            return error
        }
    }

    @Test func aTrustedServerIsUsedOverTLSByItsName() async throws {
        // At 127.0.0.1, checked against the name the URL gives (tls_server_name=localhost).
        #expect(try await Self.roundTrip(RedisStore(configuration: Self.configuration())) == "over TLS")
        // At localhost, checked against the host's name.
        var byName = try Self.configuration(tls: RedisTLS(caFile: Self.file("ca.pem")))
        byName.host = "localhost"
        #expect(try await Self.roundTrip(RedisStore(configuration: byName)) == "over TLS")
    }

    @Test func aServerSignedByACANotTrustedFails() async throws {
        let error = try await Self.firstError(Self.configuration(tls: RedisTLS(caFile: Self.file("other-ca.pem"))))
        #expect(error?.code == .tlsFailed, "\(String(describing: error))")
        #expect(error?.message.contains("not trusted") == true, "\(String(describing: error))")
    }

    @Test func theSystemsTrustRootsDoNotTrustATestCA() async throws {
        let error = try await Self.firstError(Self.configuration(tls: RedisTLS()))
        #expect(error?.code == .tlsFailed && error?.message.contains("not trusted") == true, "\(String(describing: error))")
    }

    @Test func aClusterOverTLSIsRoutedAndAnUntrustedOneFailsAsATLSError() async throws {
        let trusted = try Self.configuration(url: "STASH_REDIS_TLS_CLUSTER_URL")
        let store = try RedisStore(configuration: trusted)
        #expect(try await Self.roundTrip(store) == "over TLS")
        let namespace = try store.withNamespace("tls-cluster-" + UUID().uuidString.prefix(8).lowercased())
        for index in 0..<30 { try await namespace.set("key-\(index)", value: ByteBuffer(string: "\(index)")) }
        #expect(try await namespace.keys().collect().count == 30, "keys on every primary, each reached over TLS")
        try await namespace.deleteAll()

        for tls in [try RedisTLS(caFile: Self.file("other-ca.pem"), serverName: "localhost"), try RedisTLS(caFile: Self.file("ca.pem"))] {
            let error = try await Self.firstError(Self.configuration(url: "STASH_REDIS_TLS_CLUSTER_URL", tls: tls))
            #expect(error?.code == .tlsFailed, "\(String(describing: error))")
        }
    }

    @Test func aCertificateForAnotherNameFails() async throws {
        // The certificate is for localhost: not for another name, nor for the address 127.0.0.1.
        for serverName in ["cache.example.com", nil] {
            let tls = try RedisTLS(caFile: Self.file("ca.pem"), serverName: serverName)
            let error = try await Self.firstError(Self.configuration(tls: tls))
            #expect(error?.code == .tlsFailed, "\(String(describing: serverName)): \(String(describing: error))")
            #expect(error?.message.contains("not for the name") == true, "\(String(describing: error))")
        }
    }

    @Test func aPlainTextServerFailsInsteadOfFallingBack() async throws {
        var configuration = try Self.configuration()
        configuration.port = try RedisTestServer.port()
        let error = try await Self.firstError(configuration)
        #expect(error?.code == .tlsFailed, "\(String(describing: error))")
    }

    @Test func mutualTLSWorksWithAClientCertificateAndIsRefusedWithout() async throws {
        #expect(try await Self.roundTrip(RedisStore(configuration: Self.configuration(url: "STASH_REDIS_MTLS_URL"))) == "over TLS")
        let withoutCertificate = try Self.configuration(url: "STASH_REDIS_MTLS_URL", tls: RedisTLS(caFile: Self.file("ca.pem")))
        let error = try await Self.firstError(withoutCertificate)
        #expect(error?.code == .tlsFailed, "\(String(describing: error))")
    }

    @Test func unreadableOrIncompleteFilesAreConfigurationErrors() throws {
        for make in [
            { try RedisTLS(caFile: "/nonexistent/ca.pem") },
            { try RedisTLS(caFile: Self.file("server.key")) },
            { try RedisTLS(caFile: Self.file("ca.pem"), certificateFile: Self.file("client.pem")) },
            { try RedisTLS(privateKeyFile: Self.file("client.key")) },
            { try RedisTLS(certificateFile: Self.file("client.pem"), privateKeyFile: Self.file("ca.pem")) },
        ] as [() throws -> RedisTLS] {
            let error = #expect(throws: StoreError.self) { try make() }
            #expect(error?.code == .invalidConfiguration, "\(String(describing: error))")
        }
    }
}
