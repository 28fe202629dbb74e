import ArgumentParser
import Foundation
import SchoolgatePolicy
import SchoolgateStore

struct IncidentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "incidents",
        abstract: "Review incidents: list, show, act on them, export the record.",
        subcommands: [List.self, Show.self, Acknowledge.self, Assign.self, Note.self, Escalate.self, Close.self, Export.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Incidents, most severe and newest first.")
        @OptionGroup var options: MonitoringOptions
        @Option(help: "Only these statuses (new, acknowledged, escalated, closed); repeatable.") var status: [Incident.Status] = []
        @Option(help: "At least this severity (low, medium, high, critical).") var severity: Severity?
        @Option(help: "Only this user (or device address).") var user: String?
        @Option(help: "Seen since: 7d, 2026-11-01, …") var since: String?
        @Option(help: "At most this many.") var limit = 50

        func run() async throws {
            let (store, settings) = try await options.store()
            let zone = settings.school.timeZone
            let query = IncidentQuery(statuses: status.isEmpty ? nil : status, minimumSeverity: severity, subject: user,
                                      since: try since.map { try WhenArgument.parse($0, timeZone: zone) }, limit: limit)
            try await options.audited(store, action: "view incidents", detail: "list" + (user.map { " user \($0)" } ?? ""))
            let incidents = try await store.incidents(query)
            if options.json { print(try jsonText(incidents)); return }
            if incidents.isEmpty { print("No incidents match."); return }
            print(table(["ID", "SEVERITY", "STATUS", "LAST SEEN", "COUNT", "USER", "GROUP", "CATEGORY", "SITE"], incidents.map {
                [String($0.id), $0.severity.rawValue, $0.status.rawValue, WhenArgument.format($0.lastSeen, timeZone: zone), String($0.count),
                 $0.subject, $0.group, $0.category, $0.site]
            }))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One incident, with that user's browsing from an hour before to an hour after.")
        @OptionGroup var options: MonitoringOptions
        @Argument var id: Int64

        func run() async throws {
            let (store, settings) = try await options.store()
            let zone = settings.school.timeZone
            try await options.audited(store, action: "view incident", detail: "incident \(id) with context")
            guard let incident = try await store.incident(id: id) else { throw ValidationError("no incident \(id)") }
            let context = try await store.visits(subject: incident.subject, from: incident.created - 3_600, to: incident.lastSeen + 3_600, limit: 1_000)
            if options.json {
                struct Output: Encodable { var incident: Incident; var context: [Visit] }
                print(try jsonText(Output(incident: incident, context: context)))
                return
            }
            var lines = [
                "Incident \(incident.id): \(incident.severity.rawValue), \(incident.status.rawValue)",
                "  user:      \(incident.subject) (group \(incident.group), device \(incident.client))",
                "  category:  \(incident.category)",
                "  site:      \(incident.site)",
                "  seen:      \(incident.count) time(s), first \(WhenArgument.format(incident.created, timeZone: zone)), last \(WhenArgument.format(incident.lastSeen, timeZone: zone))",
            ]
            if let assignee = incident.assignee { lines.append("  assigned:  \(assignee)") }
            if let target = incident.escalatedTo { lines.append("  escalated: to \(target)") }
            if let outcome = incident.outcome { lines.append("  outcome:   \(outcome)") }
            for note in incident.notes { lines.append("  note (\(note.author), \(WhenArgument.format(note.time, timeZone: zone))): \(note.text)") }
            for delivery in try await store.alertDeliveries(incident: incident.id) {
                let outcome = delivery.delivered ? "delivered" : "not delivered (\(delivery.lastError ?? "?"))"
                lines.append("  alert:     \(delivery.target): \(outcome) after \(delivery.attempts) attempt(s), \(WhenArgument.format(delivery.lastAttempt, timeZone: zone))")
            }
            lines.append("")
            lines.append("Browsing by \(incident.subject) from an hour before to an hour after (\(context.count) requests):")
            print(lines.joined(separator: "\n"))
            print(table(["TIME", "DECISION", "CATEGORY", "STATUS", "ADDRESS"], context.map {
                [WhenArgument.format($0.time, timeZone: zone), $0.verdict.rawValue, $0.category ?? "-", String($0.status), $0.url ?? $0.host]
            }))
        }
    }

    struct Acknowledge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ack", abstract: "Acknowledge a new incident.")
        @OptionGroup var options: MonitoringOptions
        @Argument var id: Int64
        func run() async throws { try await act(options, id, .acknowledge) }
    }

    struct Assign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Assign an incident to someone.")
        @OptionGroup var options: MonitoringOptions
        @Argument var id: Int64
        @Option var to: String
        func run() async throws { try await act(options, id, .assign(to: to)) }
    }

    struct Note: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a note to an incident.")
        @OptionGroup var options: MonitoringOptions
        @Argument var id: Int64
        @Argument var text: String
        func run() async throws { try await act(options, id, .note(text)) }
    }

    struct Escalate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Escalate an incident (to the LADO, police, children's services …).")
        @OptionGroup var options: MonitoringOptions
        @Argument var id: Int64
        @Option var to: String
        func run() async throws { try await act(options, id, .escalate(to: to)) }
    }

    struct Close: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Close an incident with its outcome.")
        @OptionGroup var options: MonitoringOptions
        @Argument var id: Int64
        @Option var outcome: String
        func run() async throws { try await act(options, id, .close(outcome: outcome)) }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Export incidents as CSV for the safeguarding record.")
        @OptionGroup var options: MonitoringOptions
        @Option(help: "Only csv for now.") var format = "csv"
        @Option(help: "Seen since: 30d, 2026-09-01, …") var since: String?

        func validate() throws {
            if format != "csv" { throw ValidationError("--format: only csv is supported") }
        }

        func run() async throws {
            let (store, settings) = try await options.store()
            let zone = settings.school.timeZone
            try await options.audited(store, action: "export incidents", detail: "csv" + (since.map { " since \($0)" } ?? ""))
            let incidents = try await store.incidents(IncidentQuery(since: try since.map { try WhenArgument.parse($0, timeZone: zone) }, limit: Int.max))
            print("id,created,last_seen,user,group,device,category,severity,site,count,status,assignee,escalated_to,outcome,notes")
            for incident in incidents {
                let notes = incident.notes.map { "\(WhenArgument.format($0.time, timeZone: zone)) \($0.author): \($0.text)" }.joined(separator: " | ")
                print([String(incident.id), WhenArgument.format(incident.created, timeZone: zone), WhenArgument.format(incident.lastSeen, timeZone: zone),
                       incident.subject, incident.group, incident.client, incident.category, incident.severity.rawValue, incident.site,
                       String(incident.count), incident.status.rawValue, incident.assignee ?? "", incident.escalatedTo ?? "", incident.outcome ?? "", notes]
                    .map(csvField).joined(separator: ","))
            }
        }
    }
}

private func act(_ options: MonitoringOptions, _ id: Int64, _ action: IncidentAction) async throws {
    let (store, _) = try await options.store()
    do {
        let incident = try await store.update(incident: id, action, by: options.who, at: Date())
        print("Incident \(incident.id) is \(incident.status.rawValue)" + (incident.assignee.map { ", assigned to \($0)" } ?? "") + ".")
    } catch let error as StoreError {
        printError("schoolgate: \(error.message)")
        throw ExitCode(1)
    }
}

/// RFC 4180: quote fields with commas, quotes or line breaks; double the quotes. A leading
/// = + - @ is prefixed so a spreadsheet does not run the field as a formula.
func csvField(_ text: String) -> String {
    var field = text
    if let first = field.first, "=+-@".contains(first) { field = "'" + field }
    guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
    return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}

extension Incident.Status: ExpressibleByArgument {}
extension Severity: ExpressibleByArgument {}
