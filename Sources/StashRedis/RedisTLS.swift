import NIOCore
public import NIOSSL
import Stash

/// How a ``RedisStore`` secures its connections with TLS (``RedisConfiguration/tls``): whom it trusts, the
/// certificate it presents for mutual TLS, and the name it checks the server's certificate against.
///
/// The server's certificate is verified, and its name checked, by default: against the system's trust roots, or the
/// CA certificates given. A server whose certificate is not trusted, or not for the name, fails with
/// ``/Stash/StoreError/Code/tlsFailed`` — never a hang, never a fallback to plain text.
///
/// ```swift
/// var configuration = try RedisConfiguration(url: "rediss://cache.internal:6380/0")
/// configuration.tls = try RedisTLS(caFile: "/etc/stash/ca.pem", certificateFile: "client.pem", privateKeyFile: "client.key")
/// ```
public struct RedisTLS: Sendable {
    /// swift-nio-ssl's client configuration: trust roots, certificate chain and key, verification, versions.
    public var configuration: TLSConfiguration
    /// The name the server's certificate must be for, also sent in SNI; `nil` checks the host the store connects to
    /// (an IP address is checked against the certificate's IP addresses, and sent in no SNI).
    public var serverName: String?

    /// Creates a TLS setting from swift-nio-ssl's configuration.
    public init(configuration: TLSConfiguration = .makeClientConfiguration(), serverName: String? = nil) {
        self.configuration = configuration
        self.serverName = serverName
    }

    /// Creates a TLS setting from PEM files.
    /// - Parameters:
    ///   - caFile: The CA certificates to trust instead of the system's, if any.
    ///   - certificateFile: The client's certificate chain, for mutual TLS; with `privateKeyFile`.
    ///   - privateKeyFile: The client certificate's private key.
    ///   - serverName: The name the server's certificate must be for, when not the host connected to.
    /// - Throws: ``/Stash/StoreError/Code/invalidConfiguration`` for a file that cannot be read or is not PEM, or a
    ///   certificate without its key.
    public init(caFile: String? = nil, certificateFile: String? = nil, privateKeyFile: String? = nil, serverName: String? = nil) throws {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let caFile {
            configuration.trustRoots = .certificates(try Self.certificates(caFile, role: "CA"))
        }
        switch (certificateFile, privateKeyFile) {
        case (nil, nil):
            break
        case (let certificateFile?, let privateKeyFile?):
            configuration.certificateChain = try Self.certificates(certificateFile, role: "client").map { .certificate($0) }
            do {
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: privateKeyFile, format: .pem))
            } catch {
                throw StoreError(.invalidConfiguration, "invalid Redis TLS setting: cannot read the private key \(privateKeyFile)", underlying: error)
            }
        default:
            throw StoreError(
                .invalidConfiguration,
                "invalid Redis TLS setting: a client certificate needs its private key, and a key its certificate"
            )
        }
        self.init(configuration: configuration, serverName: serverName)
    }

    private static func certificates(_ file: String, role: String) throws -> [NIOSSLCertificate] {
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(file)
        } catch {
            throw StoreError(.invalidConfiguration, "invalid Redis TLS setting: cannot read the \(role) certificates \(file)", underlying: error)
        }
        guard !certificates.isEmpty else {
            throw StoreError(.invalidConfiguration, "invalid Redis TLS setting: \(file) holds no \(role) certificate")
        }
        return certificates
    }

    /// The context every connection of a store shares (made once: it reads the trust roots).
    /// - Throws: ``/Stash/StoreError/Code/invalidConfiguration`` when swift-nio-ssl refuses the configuration.
    func makeContext() throws -> NIOSSLContext {
        do {
            return try NIOSSLContext(configuration: self.configuration)
        } catch {
            throw StoreError(.invalidConfiguration, "invalid Redis TLS setting: \(error)", underlying: error)
        }
    }

    /// The name to send in SNI and check the certificate against for a host: `nil` for an IP address, which
    /// swift-nio-ssl checks against the certificate's IP addresses.
    func hostname(for host: String) -> String? {
        let name = self.serverName ?? host
        return (try? SocketAddress(ipAddress: name, port: 0)) == nil ? name : nil
    }

    /// What went wrong in a TLS handshake, said plainly, or `nil` when the error is not about TLS.
    static func reason(_ error: any Error) -> String? {
        if let extra = error as? NIOSSLExtraError {
            if extra == .failedToValidateHostname { return "the server's certificate is not for the name expected (\(extra))" }
            return "\(extra)"
        }
        guard let error = error as? NIOSSLError else { return nil }
        let text = "\(error)"
        if text.contains("CERTIFICATE_VERIFY_FAILED") { return "the server's certificate is not trusted (\(text))" }
        if text.contains("WRONG_VERSION_NUMBER") || text.contains("PACKET_LENGTH_TOO_LONG") || text.contains("HTTP_REQUEST") {
            return "the server did not answer in TLS: is the port a plain-text one? (\(text))"
        }
        if text.contains("CERTIFICATE_REQUIRED") || text.contains("ALERT_HANDSHAKE_FAILURE") || text.contains("ALERT_BAD_CERTIFICATE") {
            return "the server refused the handshake: it may require a client certificate, or not trust this one (\(text))"
        }
        if case .uncleanShutdown = error { return "the server closed the connection during the TLS handshake" }
        return "the TLS handshake failed (\(text))"
    }
}
