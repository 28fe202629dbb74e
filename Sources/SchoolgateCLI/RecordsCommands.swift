import ArgumentParser
import Foundation
import SchoolgatePolicy
import SchoolgateStore

struct VisitsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "visits", abstract: "One user's browsing over a period.")
    @OptionGroup var options: MonitoringOptions
    @Option(help: "The user (or device address).") var user: String
    @Option(help: "From: 7d, 2026-11-01, … (default: 24 hours ago).") var since: String?
    @Option(help: "Until (default: now).") var until: String?
    @Option(help: "At most this many.") var limit = 1_000

    func run() async throws {
        let (store, settings) = try await options.store()
        let zone = settings.school.timeZone
        let from = try since.map { try WhenArgument.parse($0, timeZone: zone) } ?? Date() - 86_400
        let to = try until.map { try WhenArgument.parse($0, timeZone: zone) } ?? Date()
        try await options.audited(store, action: "view visits",
                                  detail: "user \(user) from \(WhenArgument.format(from, timeZone: zone)) to \(WhenArgument.format(to, timeZone: zone))")
        let visits = try await store.visits(subject: user, from: from, to: to, limit: limit)
        if options.json { print(try jsonText(visits)); return }
        if visits.isEmpty { print("No visits by \(user) in that period."); return }
        print(table(["TIME", "DECISION", "CATEGORY", "STATUS", "BYTES", "ADDRESS"], visits.map {
            [WhenArgument.format($0.time, timeZone: zone), $0.verdict.rawValue, $0.category ?? "-", String($0.status), String($0.bytesOut), $0.url ?? $0.host]
        }))
    }
}

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "The audit trail: who viewed or changed what, and when.")
    @OptionGroup var options: MonitoringOptions
    @Option(help: "Since: 30d, 2026-09-01, …") var since: String?
    @Option(help: "At most this many.") var limit = 200

    func run() async throws {
        let (store, settings) = try await options.store()
        let zone = settings.school.timeZone
        // Reading the trail is itself recorded, before it is read.
        try await options.audited(store, action: "view audit trail", detail: since.map { "since \($0)" } ?? "latest")
        let entries = try await store.auditTrail(since: try since.map { try WhenArgument.parse($0, timeZone: zone) }, limit: limit)
        if options.json { print(try jsonText(entries)); return }
        print(table(["TIME", "WHO", "ACTION", "DETAIL"], entries.map {
            [WhenArgument.format($0.time, timeZone: zone), $0.actor, $0.action, $0.detail]
        }))
    }
}

struct PurgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "purge", abstract: "Delete records older than the retention limits now (serve also does this daily).")
    @OptionGroup var options: MonitoringOptions

    func run() async throws {
        let (store, settings) = try await options.store()
        let monitoring = settings.monitoring
        let retention = Retention(visitDays: monitoring.visitRetentionDays, incidentDays: monitoring.incidentRetentionDays, auditDays: monitoring.auditRetentionDays)
        let result = try await retention.purge(store, now: Date(), actor: options.who)
        if options.json { print(try jsonText(result)); return }
        print("Deleted \(result.visits) visits, \(result.incidents) closed incidents and \(result.auditEntries) audit entries past their retention limits.")
    }
}

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "report", abstract: "Figures for the filtering and monitoring review: blocked sites and categories per group, incidents per week, busiest users.")
    @OptionGroup var options: MonitoringOptions
    @Option(help: "Over what period: 365d (default), 2026-09-01, …") var since = "365d"
    @Option(help: "How many to list in each table.") var top = 10

    func run() async throws {
        let (store, settings) = try await options.store()
        let zone = settings.school.timeZone
        let start = try WhenArgument.parse(since, timeZone: zone)
        try await options.audited(store, action: "view report", detail: "since \(WhenArgument.format(start, timeZone: zone))")
        let report = try await store.report(since: start, top: top)
        if options.json { print(try jsonText(report)); return }
        print("Since \(WhenArgument.format(start, timeZone: zone)): \(report.visits) requests, \(report.blocked) blocked.\n")
        print("Most blocked sites, per group:")
        print(table(["GROUP", "SITE", "BLOCKED"], report.topBlockedSites.map { [$0.group ?? "-", $0.name, String($0.count)] }))
        print("\nMost blocked categories, per group:")
        print(table(["GROUP", "CATEGORY", "BLOCKED"], report.topBlockedCategories.map { [$0.group ?? "-", $0.name, String($0.count)] }))
        print("\nIncidents per week:")
        print(table(["WEEK", "INCIDENTS"], report.incidentsPerWeek.map { [$0.name, String($0.count)] }))
        print("\nBusiest users:")
        print(table(["USER", "GROUP", "REQUESTS"], report.busiestUsers.map { [$0.name, $0.group ?? "-", String($0.count)] }))
    }
}
