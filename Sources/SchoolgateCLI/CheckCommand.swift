import ArgumentParser
import Foundation
import SchoolgateConfig
import SchoolgatePolicy

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Show what the filter would decide for a URL, and why.",
        discussion: """
            Examples:
              schoolgate check https://www.bet365.com/ --group pupils-ks2
              schoolgate check http://example.com/games --group staff --at "fri 12:30"
              schoolgate check --stdin --group pupils-ks3 --json < urls.txt
            """
    )

    @OptionGroup var options: ConfigOptions
    @Argument(help: "The URL to check (http://…, https://…, or host/path).") var url: String?
    @Option(help: "The policy group to decide for.") var group: String?
    @Option(help: "The user, to pick the group when --group is not given.") var user: String?
    @Option(help: "The client address, to pick the group by address range.") var client: String?
    @Option(help: "When: 'fri 12:30', '2026-11-27 12:30' (school time) or ISO 8601. Default: now.") var at: String?
    @Flag(help: "Read one URL per line from standard input; write one decision per line.") var stdin = false
    @Flag(help: "Print JSON (JSON lines with --stdin).") var json = false

    func validate() throws {
        if stdin == (url != nil) { throw ValidationError("give a URL or --stdin (not both)") }
    }

    func run() throws {
        let loaded = try options.load()
        let groupName = group ?? loaded.policy.group(for: Identity(user: user, clientAddress: client))
        guard loaded.policy.groups[groupName] != nil else {
            throw ValidationError("no group '\(groupName)' (groups: \(loaded.policy.groupOrder.joined(separator: ", ")))")
        }
        let time = try TimeArgument.localTime(at, calendar: loaded.calendar)
        let decider = Decider(policy: loaded.policy, group: groupName, user: user, time: time)

        guard stdin else {
            let outcome = decider.decide(url!)
            if json { print(try jsonText(outcome)) } else { print(outcome.report) }
            if outcome.error != nil { throw ExitCode(1) }
            return
        }
        var failures = 0
        while let line = readLine() {
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.isEmpty || text.hasPrefix("#") { continue }
            let outcome = decider.decide(text)
            if outcome.error != nil { failures += 1 }
            print(json ? try jsonText(outcome, pretty: false) : outcome.line)
        }
        if failures > 0 {
            printError("schoolgate: \(failures) line(s) were not URLs")
            throw ExitCode(1)
        }
    }
}

struct Decider {
    let policy: Policy
    let group: String
    let user: String?
    let time: LocalTime

    func decide(_ text: String) -> CheckOutcome {
        do {
            let url = try RequestURL(parsing: text)
            let request = PolicyRequest(url: url, group: group, user: user, time: time)
            return CheckOutcome(url: text, normalised: url.description, pathVisible: request.path != nil, time: time, decision: policy.decide(request))
        } catch {
            return CheckOutcome(url: text, error: error.reason)
        }
    }
}

struct CheckOutcome: Encodable {
    var url: String
    var normalised: String?
    var pathVisible: Bool?
    var time: LocalTime?
    var decision: Decision?
    var error: String?

    init(url: String, normalised: String? = nil, pathVisible: Bool? = nil, time: LocalTime? = nil, decision: Decision? = nil, error: String? = nil) {
        self.url = url
        self.normalised = normalised
        self.pathVisible = pathVisible
        self.time = time
        self.decision = decision
        self.error = error
    }

    /// The multi-line explanation for one URL.
    var report: String {
        guard let decision else { return "ERROR  \(url)\n  \(error ?? "")" }
        var lines = ["\(decision.verdict.rawValue.uppercased())  \(normalised ?? url)"]
        lines.append("  group:    \(decision.group)")
        lines.append("  rule:     \(decision.rule.rawValue)" + (decision.ruleLocation.map { " (\($0))" } ?? ""))
        if let match = decision.match {
            lines.append("  category: \(match.source.category)")
            lines.append("  list:     \(match.source.file)")
            lines.append("  entry:    \(match.entry) (\(match.kind.rawValue))")
        }
        if let severity = decision.severity { lines.append("  incident: \(severity.rawValue)") }
        if let time { lines.append("  at:       \(time) school time") }
        if pathVisible == false { lines.append("  note:     HTTPS: decided on the host alone; the path is not visible to the proxy") }
        return lines.joined(separator: "\n")
    }

    /// One tab-separated line per URL, for --stdin.
    var line: String {
        guard let decision else { return "error\t\(url)\t\(error ?? "")" }
        return [decision.verdict.rawValue, decision.rule.rawValue, decision.category ?? "-", decision.match?.entry ?? "-", url].joined(separator: "\t")
    }
}

enum TimeArgument {
    static func localTime(_ text: String?, calendar: SchoolCalendar) throws -> LocalTime {
        guard let text else { return calendar.localTime(at: Date()) }
        let words = text.split(separator: " ")
        if words.count == 2, let weekday = Weekday(abbreviation: words[0]), let minute = minuteOfDay(words[1]) {
            return LocalTime(weekday: weekday, minuteOfDay: minute)
        }
        let iso = ISO8601DateFormatter()
        for options: ISO8601DateFormatter.Options in [[.withInternetDateTime], [.withInternetDateTime, .withFractionalSeconds]] {
            iso.formatOptions = options
            if let date = iso.date(from: text) { return calendar.localTime(at: date) }
        }
        let local = DateFormatter()
        local.locale = Locale(identifier: "en_GB_POSIX")
        local.timeZone = calendar.timeZone
        for format in ["yyyy-MM-dd HH:mm", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd'T'HH:mm:ss"] {
            local.dateFormat = format
            if let date = local.date(from: text) { return calendar.localTime(at: date) }
        }
        throw ValidationError("--at '\(text)': expected 'fri 12:30', '2026-11-27 12:30' or an ISO 8601 time")
    }

    private static func minuteOfDay(_ text: Substring) -> Int? {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let hour = Int(parts[0]), let minute = Int(parts[1]), (0..<24).contains(hour), (0..<60).contains(minute) else {
            return nil
        }
        return hour * 60 + minute
    }
}
