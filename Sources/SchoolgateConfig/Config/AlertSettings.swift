import Foundation
import SchoolgatePolicy

/// The `[alerts]` section: who hears about serious incidents, and how.
public struct AlertSettings: Sendable, Equatable {
    public var minimumSeverity = Severity.high
    public var webhooks: [URL] = []
    /// Each command as its words (no shell: write a small script for anything cleverer).
    public var commands: [[String]] = []
    public var maxAttempts = 10
    public var retryAfterSeconds: TimeInterval = 30

    public var isConfigured: Bool { !webhooks.isEmpty || !commands.isEmpty }

    static let settings = ["minimum-severity", "webhook", "command", "max-attempts", "retry-after"]

    public init() {}

    init(section: ConfigDocument.Section, file: String, problems: inout [ConfigProblem]) {
        var values = SectionValues(section, file: file)
        func problem(_ line: Int?, _ key: String, _ message: String) {
            problems.append(ConfigProblem(file: file, line: line, field: "[alerts] \(key)", message: message))
        }
        if let text = values.take("minimum-severity") {
            if let severity = Severity(rawValue: text.lowercased()) { minimumSeverity = severity } else {
                problem(values.line("minimum-severity"), "minimum-severity", "expected low, medium, high or critical")
            }
        }
        for entry in values.takeAll("webhook") {
            if let url = URL(string: entry.value), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host != nil {
                webhooks.append(url)
            } else {
                problem(entry.line, "webhook", "expected an http:// or https:// URL")
            }
        }
        for entry in values.takeAll("command") {
            let words = entry.value.split(whereSeparator: \.isWhitespace).map(String.init)
            if let program = words.first, program.hasPrefix("/") { commands.append(words) } else {
                problem(entry.line, "command", "expected an absolute path to a program, then its arguments")
            }
        }
        if let text = values.take("max-attempts") {
            if let attempts = Int(text), attempts > 0 { maxAttempts = attempts } else { problem(values.line("max-attempts"), "max-attempts", "expected a positive number") }
        }
        if let text = values.take("retry-after") {
            if let seconds = ProxySettings.duration(text) { retryAfterSeconds = seconds } else { problem(values.line("retry-after"), "retry-after", "expected a duration such as 30s") }
        }
        problems += values.unknown(expected: Self.settings)
    }
}
