import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// Checks passwords against the school's directory (Active Directory or OpenLDAP) by simple
/// bind over TLS: find the user's entry (as the service account), bind as it with the given
/// password, then read the groups it is a member of, which map to policy groups.
public final class DirectoryChecker: CredentialChecker, Sendable {
    public struct Settings: Sendable {
        public var host: String
        public var port: Int
        /// ldap:// with StartTLS rather than ldaps://.
        public var startTLS: Bool
        /// The service account that may search; nil searches anonymously.
        public var bindDN: String?
        public var bindPassword: String?
        public var userBase: String
        /// `sAMAccountName` (AD) or `uid` (OpenLDAP).
        public var userAttribute = "uid"
        public var userObjectClass: String? = nil
        public var groupBase: String
        /// Groups whose `groupMemberAttribute` holds the user's DN (`member` for AD and groupOfNames).
        public var groupMemberAttribute = "member"
        public var groupObjectClass: String? = nil
        /// The group attribute whose value is the directory group name in the config (`cn`).
        public var groupNameAttribute = "cn"
        /// PEM file of the CA that signed the directory's certificate; the system's when nil.
        public var caFile: String?
        public var timeoutSeconds: Double = 5

        public init(host: String, port: Int, startTLS: Bool, userBase: String, groupBase: String) {
            self.host = host
            self.port = port
            self.startTLS = startTLS
            self.userBase = userBase
            self.groupBase = groupBase
        }
    }

    private let settings: Settings
    private let tls: NIOSSLContext
    private let group: EventLoopGroup

    public init(settings: Settings, group: EventLoopGroup) throws {
        self.settings = settings
        self.group = group
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let caFile = settings.caFile {
            configuration.trustRoots = .file(caFile)
        }
        tls = try NIOSSLContext(configuration: configuration)
    }

    public func check(user: String, password: String) throws -> CredentialCheck {
        // An empty password would make a simple bind "unauthenticated" and succeed (RFC 4513 §5.1.2).
        guard !password.isEmpty, !user.isEmpty else { return .invalid }
        let connection = try LDAPConnection.open(host: settings.host, port: settings.port, tls: tls, startTLS: settings.startTLS,
                                                 timeout: .milliseconds(Int64(settings.timeoutSeconds * 1000)), group: group)
        defer { connection.close() }
        if let bindDN = settings.bindDN {
            let service = try connection.bind(dn: bindDN, password: settings.bindPassword ?? "")
            guard service.code == 0 else {
                throw LDAPConnection.Failure(description: "the service account was refused (result \(service.code)); check [directory] bind-dn and its password")
            }
        }
        let entries = try connection.search(base: settings.userBase, attribute: settings.userAttribute, value: user,
                                            objectClass: settings.userObjectClass, attributes: ["1.1"])
        guard entries.count == 1, let dn = entries[0].dn else { return .invalid }
        let bound = try connection.bind(dn: dn, password: password)
        switch bound.code {
        case 0: break
        case 49: return .invalid      // invalidCredentials: wrong password, or locked/disabled (not told apart, on purpose)
        case 53: return .locked       // unwillingToPerform: e.g. an expired or disabled account
        default: throw LDAPConnection.Failure(description: "bind answered result \(bound.code)")
        }
        // Group membership is read as the service account where there is one: users often may not.
        if let bindDN = settings.bindDN { _ = try connection.bind(dn: bindDN, password: settings.bindPassword ?? "") }
        let groups = try connection.search(base: settings.groupBase, attribute: settings.groupMemberAttribute, value: dn,
                                           objectClass: settings.groupObjectClass, attributes: [settings.groupNameAttribute])
        let names = groups.flatMap { $0.attributes[settings.groupNameAttribute.lowercased()] ?? [] }
        return .valid(user: user.lowercased(), directoryGroups: names)
    }
}

/// Local accounts first, then the directory: a name in the users file never reaches the directory.
public struct ChainedChecker: CredentialChecker {
    let local: LocalUsersChecker
    let directory: (any CredentialChecker)?

    public init(local: LocalUsersChecker, directory: (any CredentialChecker)?) {
        self.local = local
        self.directory = directory
    }

    public func check(user: String, password: String) throws -> CredentialCheck {
        if local.users.hash(for: user) != nil || directory == nil { return try local.check(user: user, password: password) }
        return try directory!.check(user: user, password: password)
    }
}
