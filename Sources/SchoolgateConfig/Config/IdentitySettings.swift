import Foundation
import SchoolgatePolicy

/// The `[consent]` section: the guests' acceptable-use terms and the page that shows them.
public struct ConsentSettings: Sendable {
    /// The terms, as plain text (blank lines separate paragraphs).
    public var termsPath: String
    public var termsText = ""
    /// Changing it sends every guest back to the page.
    public var termsVersion = "1"
    public var idleSeconds: TimeInterval = 2 * 3_600
    public var sessionSeconds: TimeInterval = 12 * 3_600
    public var httpListen: (host: String, port: Int) = ("127.0.0.1", 8080)
    public var httpsListen: (host: String, port: Int)?
    public var certificatePath: String?
    public var privateKeyPath: String?
    /// The page's address as guests reach it; redirects and the RFC 8908 API give it.
    public var publicURL: String?

    /// Where redirects send guests: the configured URL, else the HTTPS listener, else HTTP.
    public var portalURL: String {
        if let publicURL { return publicURL }
        if let https = httpsListen { return "https://\(Self.urlHost(https.host)):\(https.port)/" }
        return "http://\(Self.urlHost(httpListen.host)):\(httpListen.port)/"
    }

    static func urlHost(_ host: String) -> String { host.contains(":") ? "[\(host)]" : host }

    static let settings = ["terms", "terms-version", "idle-timeout", "session-limit", "listen", "https-listen", "certificate", "private-key", "portal-url"]

    init(directory: String) {
        termsPath = PolicyConfig.resolve("guest-terms.txt", against: directory)
    }

    init(section: ConfigDocument.Section?, file: String, directory: String, problems: inout [ConfigProblem]) {
        self.init(directory: directory)
        var values = section.map { SectionValues($0, file: file) }
        func problem(_ key: String, _ message: String) {
            problems.append(ConfigProblem(file: file, line: values?.line(key), field: "[consent] \(key)", message: message))
        }
        if let path = values?.take("terms") { termsPath = PolicyConfig.resolve(path, against: directory) }
        if let version = values?.take("terms-version") {
            if version.isEmpty { problem("terms-version", "needs a version, e.g. 2026-09") } else { termsVersion = version }
        }
        for (key, keyPath) in [("idle-timeout", \ConsentSettings.idleSeconds), ("session-limit", \.sessionSeconds)] {
            guard let text = values?.take(key) else { continue }
            if let seconds = ProxySettings.duration(text) { self[keyPath: keyPath] = seconds } else { problem(key, "expected a duration such as 2h or 30m") }
        }
        if let text = values?.take("listen") {
            if let listen = ProxySettings.listenAddress(text) { httpListen = listen } else { problem("listen", "expected ADDRESS:PORT, e.g. 10.99.0.1:80") }
        }
        if let text = values?.take("https-listen") {
            if let listen = ProxySettings.listenAddress(text) { httpsListen = listen } else { problem("https-listen", "expected ADDRESS:PORT, e.g. 10.99.0.1:443") }
        }
        certificatePath = values?.take("certificate").map { PolicyConfig.resolve($0, against: directory) }
        privateKeyPath = values?.take("private-key").map { PolicyConfig.resolve($0, against: directory) }
        if let url = values?.take("portal-url") {
            if url.hasPrefix("http://") || url.hasPrefix("https://") { publicURL = url } else { problem("portal-url", "expected an http:// or https:// URL") }
        }
        if httpsListen != nil, certificatePath == nil || privateKeyPath == nil {
            problem("https-listen", "the HTTPS page needs 'certificate' and 'private-key' (PEM files)")
        }
        for (key, path) in [("certificate", certificatePath), ("private-key", privateKeyPath)] {
            if let path, !FileManager.default.isReadableFile(atPath: path) { problem(key, "\(path) cannot be read") }
        }
        if let values { problems += values.unknown(expected: Self.settings) }
    }

    /// Reads the terms file; needed only when some group requires consent.
    mutating func readTerms(file: String, line: Int?, problems: inout [ConfigProblem]) {
        guard let text = try? String(contentsOfFile: termsPath, encoding: .utf8) else {
            problems.append(ConfigProblem(file: file, line: line, field: "[consent] terms",
                                          message: "\(termsPath) cannot be read: a group requires consent, so guests need terms to accept"))
            return
        }
        if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            problems.append(ConfigProblem(file: termsPath, line: nil, field: "[consent] terms", message: "the acceptable-use terms are empty"))
        }
        termsText = text
    }
}

/// The `[authentication]` section: where proxy sign-ins are checked.
public struct AuthenticationSettings: Sendable, Equatable {
    public var usersFile: String
    public var realm = "School internet"
    public var cacheSeconds: TimeInterval = 15 * 60
    public var maxFailures = 10
    public var failureWindowSeconds: TimeInterval = 5 * 60

    static let settings = ["users-file", "realm", "cache", "max-failures", "failure-window"]

    init(directory: String) {
        usersFile = PolicyConfig.resolve("users", against: directory)
    }

    init(section: ConfigDocument.Section, file: String, directory: String, problems: inout [ConfigProblem]) {
        self.init(directory: directory)
        var values = SectionValues(section, file: file)
        func problem(_ key: String, _ message: String) {
            problems.append(ConfigProblem(file: file, line: values.line(key), field: "[authentication] \(key)", message: message))
        }
        if let path = values.take("users-file") { usersFile = PolicyConfig.resolve(path, against: directory) }
        if let realm = values.take("realm") {
            if realm.contains("\"") || realm.isEmpty { problem("realm", "a realm is plain text without quotes") } else { self.realm = realm }
        }
        for (key, keyPath) in [("cache", \AuthenticationSettings.cacheSeconds), ("failure-window", \.failureWindowSeconds)] {
            guard let text = values.take(key) else { continue }
            if let seconds = ProxySettings.duration(text) { self[keyPath: keyPath] = seconds } else { problem(key, "expected a duration such as 15m") }
        }
        if let text = values.take("max-failures") {
            if let number = Int(text), number > 0 { maxFailures = number } else { problem("max-failures", "expected a positive whole number") }
        }
        problems += values.unknown(expected: Self.settings)
    }
}

/// The `[radius]` section: RADIUS accounting from the Wi-Fi controller names who is at which
/// address, for devices that cannot sign in to the proxy themselves.
public struct RadiusSettings: Sendable, Equatable {
    public var listenHost = "0.0.0.0"
    public var listenPort = 1813
    public var secret: String
    /// NAS (controller) addresses allowed to send; empty accepts any that knows the secret.
    public var clients: [String] = []
    public var sessionLifetimeSeconds: TimeInterval = 8 * 3_600

    static let settings = ["listen", "secret", "secret-file", "clients", "session-lifetime"]

    init(section: ConfigDocument.Section, file: String, directory: String, problems: inout [ConfigProblem]) {
        var values = SectionValues(section, file: file)
        func problem(_ key: String, _ message: String) {
            problems.append(ConfigProblem(file: file, line: values.line(key), field: "[radius] \(key)", message: message))
        }
        var secret = values.take("secret")
        if let path = values.take("secret-file") {
            let resolved = PolicyConfig.resolve(path, against: directory)
            if let text = try? String(contentsOfFile: resolved, encoding: .utf8) {
                secret = text.trimmingCharacters(in: .whitespacesAndNewlines)
            } else {
                problem("secret-file", "\(resolved) cannot be read")
            }
        }
        self.secret = secret ?? ""
        if self.secret.count < 16 {
            problem(values.line("secret") != nil ? "secret" : "secret-file",
                    "the shared secret must have at least 16 characters (RFC 2865 §3 advises as long and random as the controller allows)")
        }
        if let text = values.take("listen") {
            if let listen = ProxySettings.listenAddress(text) { (listenHost, listenPort) = listen } else { problem("listen", "expected ADDRESS:PORT, e.g. 10.0.0.1:1813") }
        }
        if let text = values.take("clients") {
            clients = PolicyConfig.commaList(text)
            for client in clients where AddressRange.parseAddress(client) == nil { problem("clients", "'\(client)' is not an IP address") }
        }
        if let text = values.take("session-lifetime") {
            if let seconds = ProxySettings.duration(text) { sessionLifetimeSeconds = seconds } else { problem("session-lifetime", "expected a duration such as 8h") }
        }
        problems += values.unknown(expected: Self.settings)
    }
}

/// `[address-users]`: `ADDRESS or RANGE = NAME`, for shared or fixed devices (a library PC, a
/// class set of tablets) whose visits should carry a name rather than an address.
enum AddressUsers {
    static func parse(_ section: ConfigDocument.Section, file: String, problems: inout [ConfigProblem]) -> [(range: AddressRange, user: String)] {
        var result: [(range: AddressRange, user: String)] = []
        for entry in section.entries {
            guard let range = AddressRange(entry.key) else {
                problems.append(ConfigProblem(file: file, line: entry.line, field: "[address-users] \(entry.key)", message: "'\(entry.key)' is not an address or range"))
                continue
            }
            guard !entry.value.isEmpty else {
                problems.append(ConfigProblem(file: file, line: entry.line, field: "[address-users] \(entry.key)", message: "needs a name"))
                continue
            }
            result.append((range, entry.value.lowercased()))
        }
        return result
    }
}

/// The `[directory]` section: sign-ins checked against Active Directory or OpenLDAP by simple
/// bind over TLS (ldaps://, or ldap:// with StartTLS), directory groups mapped to policy groups.
public struct DirectorySettings: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var startTLS: Bool
    public var bindDN: String?
    public var bindPassword: String?
    public var userBase: String
    public var userAttribute = "uid"
    public var userObjectClass: String?
    public var groupBase: String
    public var groupMemberAttribute = "member"
    public var groupObjectClass: String?
    public var groupNameAttribute = "cn"
    public var caFile: String?
    public var timeoutSeconds: Double = 5

    static let settings = ["url", "bind-dn", "bind-password-file", "user-base", "user-attribute", "user-object-class", "group-base",
                           "group-member-attribute", "group-object-class", "group-name-attribute", "ca-file", "timeout"]

    init(section: ConfigDocument.Section, file: String, directory: String, problems: inout [ConfigProblem]) {
        var values = SectionValues(section, file: file)
        func problem(_ key: String, _ message: String) {
            problems.append(ConfigProblem(file: file, line: values.line(key) ?? section.line, field: "[directory] \(key)", message: message))
        }
        host = ""
        port = 636
        startTLS = false
        let url = values.take("url") ?? ""
        if url.hasPrefix("ldaps://") || url.hasPrefix("ldap://"), let parsed = URLComponents(string: url), let host = parsed.host, !host.isEmpty {
            self.host = host
            startTLS = url.hasPrefix("ldap://")
            port = parsed.port ?? (startTLS ? 389 : 636)
        } else {
            problem("url", "expected ldaps://HOST[:PORT] or ldap://HOST[:PORT] (then StartTLS is used; credentials never travel in clear)")
        }
        bindDN = values.take("bind-dn")
        if let path = values.take("bind-password-file") {
            let resolved = PolicyConfig.resolve(path, against: directory)
            if let text = try? String(contentsOfFile: resolved, encoding: .utf8) {
                bindPassword = text.trimmingCharacters(in: .whitespacesAndNewlines)
            } else {
                problem("bind-password-file", "\(resolved) cannot be read")
            }
        }
        if bindDN != nil, bindPassword == nil { problem("bind-dn", "a bind-dn needs its bind-password-file") }
        userBase = values.take("user-base") ?? ""
        if userBase.isEmpty { problem("user-base", "where users are, e.g. OU=Users,DC=school,DC=local") }
        groupBase = values.take("group-base") ?? userBase
        if let value = values.take("user-attribute") { userAttribute = value }
        userObjectClass = values.take("user-object-class")
        if let value = values.take("group-member-attribute") { groupMemberAttribute = value }
        groupObjectClass = values.take("group-object-class")
        if let value = values.take("group-name-attribute") { groupNameAttribute = value }
        if let path = values.take("ca-file") {
            let resolved = PolicyConfig.resolve(path, against: directory)
            if FileManager.default.isReadableFile(atPath: resolved) { caFile = resolved } else { problem("ca-file", "\(resolved) cannot be read") }
        }
        if let text = values.take("timeout") {
            if let seconds = ProxySettings.duration(text) { timeoutSeconds = seconds } else { problem("timeout", "expected a duration such as 5s") }
        }
        problems += values.unknown(expected: Self.settings)
    }
}
