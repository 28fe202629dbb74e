import Foundation
import SchoolgatePolicy

/// Where the captive page listens and how it introduces itself.
public struct PortalSettings: Sendable {
    public var httpHost = "127.0.0.1"
    public var httpPort = 8080
    /// HTTPS listener (certificate and key as PEM files); nil serves plain HTTP only.
    public var https: (host: String, port: Int, certificate: String, privateKey: String)?
    /// The page's address as guests' devices reach it: redirects and the RFC 8908 API name it.
    public var publicURL = "http://127.0.0.1:8080/"
    public var schoolName = "Our school"

    public init() {}
}
