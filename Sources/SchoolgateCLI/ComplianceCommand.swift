import ArgumentParser
import Foundation
import SchoolgateConfig
import SchoolgatePolicy
import SchoolgateStore

/// `schoolgate compliance`: for governors and the annual review, how the school stands against
/// the DfE filtering and monitoring standards and the UKSIC checklists, from the live config,
/// lists and records.
struct ComplianceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compliance", abstract: "How the school stands against the DfE filtering and monitoring standards, item by item.")
    @OptionGroup var options: MonitoringOptions
    @Option(help: "Also write the report as an HTML page to this file.") var html: String?
    @Option(help: "Record that the annual filtering and monitoring review took place, with a note (who, what changed).") var recordReview: String?

    static let reviewAction = "filtering and monitoring review"

    func run() async throws {
        let (store, _) = try await options.store()
        let loaded = try options.config.load()
        let now = Date()
        if let note = recordReview {
            try await store.audit(AuditEntry(time: now, actor: options.who, action: Self.reviewAction, detail: note))
        }
        try await options.audited(store, action: "view compliance report", detail: html.map { "also as \($0)" } ?? "")
        let facts = try await Self.facts(store: store, minimumSeverity: loaded.config.alerts.minimumSeverity, now: now)
        var dates: [LockedSlot: Date] = [:]
        for (slot, path) in loaded.config.lockedPaths {
            dates[slot] = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
        }
        let items = ComplianceReport.evaluate(loaded, facts: facts, lockedFileDates: dates, now: now)
        if let html {
            try ComplianceHTML.render(items, school: loaded.config.school.name, at: now)
                .write(toFile: html, atomically: true, encoding: .utf8)
        }
        if options.json { print(try jsonText(items)); return }
        let met = items.filter { $0.status == .met }.count
        print("\(loaded.config.school.name): filtering and monitoring, \(WhenArgument.format(now, timeZone: loaded.config.school.timeZone))")
        print("\(met) of \(items.count) items met.\n")
        for item in items {
            print("\(item.status.rawValue.uppercased().padding(toLength: 16, withPad: " ", startingAt: 0))\(item.requirement)  [\(item.source)]")
            print("                evidence: \(item.evidence)")
            if let action = item.action { print("                to do:    \(action)") }
        }
    }

    static func facts(store: any MonitoringStore, minimumSeverity: Severity, now: Date) async throws -> MonitoringFacts {
        let week = try await store.report(since: now - 7 * 86_400, top: 1)
        let incidents = try await store.incidents(IncidentQuery(minimumSeverity: minimumSeverity, since: now - 30 * 86_400, limit: 1_000))
        var alerted = 0, failures = 0
        for incident in incidents {
            let deliveries = try await store.alertDeliveries(incident: incident.id)
            if deliveries.contains(where: \.delivered) { alerted += 1 }
            failures += deliveries.reduce(0) { $0 + $1.attempts - ($1.delivered ? 1 : 0) }
        }
        let review = try await store.auditTrail(since: nil, limit: 100_000).filter { $0.action == reviewAction }.max { $0.time < $1.time }
        return MonitoringFacts(visitsLastWeek: week.visits, incidentsNeedingAlert: incidents.count, incidentsAlerted: alerted, alertFailures: failures,
                               lastReview: review?.time, lastReviewNote: review?.detail)
    }
}

enum ComplianceHTML {
    static func render(_ items: [ComplianceItem], school: String, at time: Date) -> String {
        let colour: [ComplianceItem.Status: String] = [.met: "#1a7f37", .partly: "#9a6700", .notMet: "#cf222e", .checkElsewhere: "#57606a"]
        let rows = items.map { item in
            "<tr><td style=\"color:\(colour[item.status]!);font-weight:700\">\(HTML.escape(item.status.rawValue))</td><td>\(HTML.escape(item.requirement))"
                + "<br><small>\(HTML.escape(item.source))</small></td><td>\(HTML.escape(item.evidence))</td><td>\(HTML.escape(item.action ?? ""))</td></tr>"
        }.joined(separator: "\n")
        let met = items.filter { $0.status == .met }.count
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Filtering and monitoring: \(HTML.escape(school))</title>
            <style>body{font-family:system-ui,sans-serif;margin:1.5rem;color:#111}table{border-collapse:collapse;width:100%}
            td,th{border:1px solid #999;padding:.4rem .6rem;vertical-align:top;text-align:left}th{background:#eee}</style></head>
            <body><h1>Filtering and monitoring: \(HTML.escape(school))</h1>
            <p>Against the DfE filtering and monitoring standards and the UK Safer Internet Centre's appropriate filtering and
            monitoring checklists, from the live configuration and records on \(ISO8601DateFormatter().string(from: time)).
            \(met) of \(items.count) items met.</p>
            <table><tr><th>Status</th><th>Requirement</th><th>Evidence</th><th>To do</th></tr>
            \(rows)
            </table></body></html>

            """
    }
}
