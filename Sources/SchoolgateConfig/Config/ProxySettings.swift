import Foundation
import SchoolgatePolicy

/// The `[proxy]` section: where to listen and how to treat what the policy cannot decide alone.
public struct ProxySettings: Sendable {
    /// What to do with a tunnel the ClientHello makes doubtful.
    public enum TunnelAction: String, Sendable {
        case allow, flag, block
    }

    public var listenHost = "127.0.0.1"
    public var listenPort = 3128
    public var connectPorts: Set<Int> = [443]
    /// The SNI names a different host from the CONNECT request (domain fronting).
    public var sniMismatch = TunnelAction.block
    /// No SNI at all (a CONNECT to a bare IP address, very old clients).
    public var missingSNI = TunnelAction.allow
    /// The tunnel's first bytes are not a TLS ClientHello.
    public var nonTLS = TunnelAction.block
    /// Incidents for bypass attempts (SNI mismatch, non-TLS tunnels); nil when `off`.
    public var bypassSeverity: Severity? = .medium
    public var clientHelloTimeoutSeconds = 10.0
    public var connectTimeoutSeconds = 10.0
    public var maxHeaderBytes = 32 * 1024
    public var maxHeaderCount = 100
    public var maxURILength = 8 * 1024
    public var clientTimeoutSeconds = 30.0
    /// How long an idle upstream connection is kept for reuse.
    public var upstreamIdleTimeoutSeconds = 60.0
    public var maxConnectionsPerClient = 256
    /// Listeners for traffic the firewall redirects (transparent mode); nil when off.
    public var interceptHTTP: (host: String, port: Int)?
    public var interceptTLS: (host: String, port: Int)?
    /// Intercepted traffic whose SNI (or Host) does not resolve to the address it was going to.
    public var destinationMismatch = TunnelAction.flag

    public init() {}

    static let settings = ["listen", "connect-ports", "sni-mismatch", "missing-sni", "non-tls", "bypass-severity", "client-hello-timeout", "connect-timeout",
                           "client-timeout", "upstream-idle-timeout", "max-header-bytes", "max-header-count", "max-uri-length", "max-connections-per-client",
                           "intercept-http", "intercept-tls", "destination-mismatch"]

    init(section: ConfigDocument.Section, file: String, problems: inout [ConfigProblem]) {
        var values = SectionValues(section, file: file)
        func problem(_ key: String, _ message: String) {
            problems.append(ConfigProblem(file: file, line: values.line(key), field: "[proxy] \(key)", message: message))
        }
        if let listen = values.take("listen") {
            if let address = Self.listenAddress(listen) {
                (listenHost, listenPort) = address
            } else {
                problem("listen", "expected ADDRESS:PORT, e.g. 127.0.0.1:3128 or 0.0.0.0:3128")
            }
        }
        if let ports = values.take("connect-ports") {
            let parsed = PolicyConfig.commaList(ports).map { Int($0) }
            if parsed.allSatisfy({ $0 != nil && (1...65535).contains($0!) }), !parsed.isEmpty {
                connectPorts = Set(parsed.map { $0! })
            } else {
                problem("connect-ports", "expected port numbers separated by commas, e.g. 443, 8443")
            }
        }
        for (key, keyPath) in [("intercept-http", \ProxySettings.interceptHTTP), ("intercept-tls", \.interceptTLS)] {
            guard let text = values.take(key) else { continue }
            if let address = Self.listenAddress(text) { self[keyPath: keyPath] = address } else { problem(key, "expected ADDRESS:PORT, e.g. 0.0.0.0:3129") }
        }
        for (key, keyPath) in [("sni-mismatch", \ProxySettings.sniMismatch), ("missing-sni", \.missingSNI), ("non-tls", \.nonTLS),
                               ("destination-mismatch", \.destinationMismatch)] {
            guard let text = values.take(key) else { continue }
            if let action = TunnelAction(rawValue: text.lowercased()) { self[keyPath: keyPath] = action } else { problem(key, "expected allow, flag or block") }
        }
        if let text = values.take("bypass-severity") {
            if text.lowercased() == "off" {
                bypassSeverity = nil
            } else if let severity = Severity(rawValue: text.lowercased()) {
                bypassSeverity = severity
            } else {
                problem("bypass-severity", "expected low, medium, high, critical or off")
            }
        }
        for (key, keyPath) in [("max-header-bytes", \ProxySettings.maxHeaderBytes), ("max-header-count", \.maxHeaderCount),
                               ("max-uri-length", \.maxURILength), ("max-connections-per-client", \.maxConnectionsPerClient)] {
            guard let text = values.take(key) else { continue }
            if let number = Int(text), number > 0 { self[keyPath: keyPath] = number } else { problem(key, "expected a positive whole number") }
        }
        for (key, keyPath) in [("client-hello-timeout", \ProxySettings.clientHelloTimeoutSeconds), ("connect-timeout", \.connectTimeoutSeconds),
                               ("client-timeout", \.clientTimeoutSeconds), ("upstream-idle-timeout", \.upstreamIdleTimeoutSeconds)] {
            guard let text = values.take(key) else { continue }
            if let seconds = Self.duration(text) { self[keyPath: keyPath] = seconds } else { problem(key, "expected a duration such as 10s or 500ms") }
        }
        problems += values.unknown(expected: Self.settings)
    }

    /// `ADDRESS:PORT`, `[v6]:PORT` or `:PORT` (every address); port 0 asks for a free one.
    static func listenAddress(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }

    /// `500ms`, `10s`, `30m`, `1h`, `2d`; a bare number is seconds.
    public static func duration(_ text: String) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3_600), ("d", 86_400)]
        let (number, scale) = units.first { trimmed.hasSuffix($0.0) }.map { (String(trimmed.dropLast($0.0.count)), $0.1) } ?? (trimmed, 1)
        guard let value = Double(number), value > 0 else { return nil }
        return value * scale
    }
}
