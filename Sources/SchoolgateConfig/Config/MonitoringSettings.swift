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
    /// The Squid-format access log; nil when switched off.
    public var accessLogPath: String?
    public var foldWindowSeconds: TimeInterval = 3_600
    public var visitRetentionDays = 90
    public var incidentRetentionDays = 365
    public var auditRetentionDays = 730

    static let settings = ["database", "access-log", "fold-window", "visit-retention", "incident-retention", "audit-retention"]

    init(defaultDirectory directory: String) {
        databasePath = PolicyConfig.resolve("/var/lib/schoolgate/schoolgate.sqlite", against: directory)
        accessLogPath = "/var/log/schoolgate/access.log"
    }

    init(section: ConfigDocument.Section, file: String, directory: String, problems: inout [ConfigProblem]) {
        self.init(defaultDirectory: directory)
        var values = SectionValues(section, file: file)
        func problem(_ key: String, _ message: String) {
            problems.append(ConfigProblem(file: file, line: values.line(key), field: "[monitoring] \(key)", message: message))
        }
        if let path = values.take("database") {
            if path.isEmpty { problem("database", "needs a file path") } else { databasePath = PolicyConfig.resolve(path, against: directory) }
        }
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
