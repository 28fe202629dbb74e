import Foundation
import SchoolgateIdentity
import SchoolgatePolicy

/// Who a request comes from, as far as the proxy could tell before deciding it.
struct ClientIdentity: Sendable, Equatable {
    var user: String?
    var directoryGroups: [String] = []
    /// Credentials were given and verified.
    var authenticated = false

    static let anonymous = ClientIdentity()
}

/// The ways the proxy learns who is browsing; each is optional.
public struct IdentityServices: Sendable {
    /// Checks `Proxy-Authorization` (the local users file, a directory).
    public var verifier: CredentialVerifier?
    /// Guests who agreed to the terms; nil when no group requires consent.
    public var consents: ConsentRegistry?
    /// Where a guest who has not agreed is sent (the captive page's public URL).
    public var portalURL = "http://127.0.0.1:8080/"
    public var realm = "School internet"
    /// The user signed in at an address (Wi-Fi logins by RADIUS accounting, static config).
    public var userAtAddress: @Sendable (String) -> String? = { _ in nil }

    public init() {}
}
