import Foundation

/// The `[monitoring]` section: where visits and incidents are kept, and for how long.
///
/// Default retention, chosen for a UK school under UK GDPR (data minimisation, storage
/// limitation) and the DfE monitoring standard: browsing records 90 days, enough for a
/// half-term's safeguarding review; closed incidents 365 days (the safeguarding record itself
/// lives in the school's safeguarding system, via `incidents export`); the audit trail 730 days,
/// longer than what it audits. Open incidents are never purged.
public struct MonitoringSettings: Sendable, Equatable {
    public var databasePath: String
    /// `database = postgres://USER@HOST[:PORT]/DATABASE[?schema=NAME]`: a store shared by a
    /// trust's schools, its password in `database-password-file`. Nil: the SQLite file.
    public var postgres: PostgresLocation?
    /// Where `serve` keeps its pid file: beside the SQLite file, or `state-directory`.
    public var stateDirectory: String
    /// The Squid-format access log; nil when switched off.
    public var accessLogPath: String?
    public var foldWindowSeconds: TimeInterval = 3_600
    public var visitRetentionDays = 90
    public var incidentRetentionDays = 365
    public var auditRetentionDays = 730

    public struct PostgresLocation: Sendable, Equatable {
        public var host: String
        public var port: Int
        public var user: String
        public var password: String?
        public var database: String
        public var schema: String
        public var requireTLS: Bool
    }

    static let settings = ["database", "database-password-file", "state-directory", "access-log", "fold-window", "visit-retention", "incident-retention", "audit-retention"]

    init(defaultDirectory directory: String) {
        databasePath = PolicyConfig.resolve("/var/lib/schoolgate/schoolgate.sqlite", against: directory)
        accessLogPath = "/var/log/schoolgate/access.log"
        stateDirectory = (databasePath as NSString).deletingLastPathComponent
    }

    init(section: ConfigDocument.Section, file: String, directory: String, problems: inout [ConfigProblem]) {
        self.init(defaultDirectory: directory)
        var values = SectionValues(section, file: file)
        func problem(_ key: String, _ message: String) {
            problems.append(ConfigProblem(file: file, line: values.line(key), field: "[monitoring] \(key)", message: message))
        }
        if let path = values.take("database") {
            if path.hasPrefix("postgres://") || path.hasPrefix("postgresql://") {
                if let url = URLComponents(string: path), let host = url.host, !host.isEmpty, let user = url.user, url.path.count > 1 {
                    let options = Dictionary((url.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
                    postgres = PostgresLocation(host: host, port: url.port ?? 5432, user: user, password: nil, database: String(url.path.dropFirst()),
                                                schema: options["schema"] ?? "schoolgate", requireTLS: options["sslmode"] == "require")
                } else {
                    problem("database", "expected postgres://USER@HOST[:PORT]/DATABASE[?schema=NAME&sslmode=require]")
                }
            } else if path.isEmpty {
                problem("database", "needs a file path or a postgres:// URL")
            } else {
                databasePath = PolicyConfig.resolve(path, against: directory)
                stateDirectory = (databasePath as NSString).deletingLastPathComponent
            }
        }
        if let path = values.take("database-password-file") {
            let resolved = PolicyConfig.resolve(path, against: directory)
            if let text = try? String(contentsOfFile: resolved, encoding: .utf8) {
                postgres?.password = text.trimmingCharacters(in: .whitespacesAndNewlines)
            } else {
                problem("database-password-file", "\(resolved) cannot be read")
            }
        }
        if let path = values.take("state-directory") { stateDirectory = PolicyConfig.resolve(path, against: directory) }
        if let path = values.take("access-log") {
            accessLogPath = ["", "off", "none", "no"].contains(path.lowercased()) ? nil : PolicyConfig.resolve(path, against: directory)
        }
        if let text = values.take("fold-window") {
            if let seconds = ProxySettings.duration(text) { foldWindowSeconds = seconds } else { problem("fold-window", "expected a duration such as 1h, 30m or 90s") }
        }
        for (key, keyPath) in [("visit-retention", \MonitoringSettings.visitRetentionDays), ("incident-retention", \.incidentRetentionDays),
                               ("audit-retention", \.auditRetentionDays)] {
            guard let text = values.take(key) else { continue }
            if let days = Self.days(text) { self[keyPath: keyPath] = days } else { problem(key, "expected a number of days such as 90d") }
        }
        if auditRetentionDays < visitRetentionDays {
            problems.append(ConfigProblem(file: file, line: values.line("audit-retention"), field: "[monitoring] audit-retention",
                                          message: "the audit trail must be kept at least as long as the visits it audits (\(visitRetentionDays) days)"))
        }
        problems += values.unknown(expected: Self.settings)
    }

    static func days(_ text: String) -> Int? {
        let trimmed = text.lowercased().hasSuffix("d") ? String(text.dropLast()) : text
        guard let days = Int(trimmed.trimmingCharacters(in: .whitespaces)), days > 0 else { return nil }
        return days
    }
}
