import Foundation
import SchoolgatePolicy

/// What the monitoring store says about the last while, for the compliance report.
public struct MonitoringFacts: Sendable {
    public var visitsLastWeek: Int
    public var incidentsNeedingAlert: Int
    public var incidentsAlerted: Int
    public var alertFailures: Int
    public var lastReview: Date?
    public var lastReviewNote: String?

    public init(visitsLastWeek: Int, incidentsNeedingAlert: Int, incidentsAlerted: Int, alertFailures: Int, lastReview: Date?, lastReviewNote: String?) {
        self.visitsLastWeek = visitsLastWeek
        self.incidentsNeedingAlert = incidentsNeedingAlert
        self.incidentsAlerted = incidentsAlerted
        self.alertFailures = alertFailures
        self.lastReview = lastReview
        self.lastReviewNote = lastReviewNote
    }
}

/// One line of the report: a requirement, where it comes from, how the school stands, the
/// evidence, and what to do when it is not met, in plain words.
public struct ComplianceItem: Sendable, Codable, Equatable {
    public enum Status: String, Sendable, Codable { case met, partly, notMet = "not met", checkElsewhere = "check elsewhere" }
    public var id: String
    public var source: String
    public var requirement: String
    public var status: Status
    public var evidence: String
    public var action: String?
}

/// How the school stands against the DfE filtering and monitoring standards for schools and
/// colleges and the UK Safer Internet Centre's appropriate filtering and monitoring checklists,
/// item by item, from the live config, lists and records. Pure: facts in, items out.
public enum ComplianceReport {
    /// Categories the UKSIC "appropriate filtering" definitions expect blocked for pupils, as
    /// named in this config; the brief's list plus the checklist's own.
    public static let requiredCategories = ["pornography", "gambling", "self-harm", "extremism", "drugs", "violence", "malware", "vpn-proxy"]
    public static let recommendedCategories = ["discrimination", "piracy"]

    public static func evaluate(_ loaded: LoadedPolicy, facts: MonitoringFacts, lockedFileDates: [LockedSlot: Date], now: Date) -> [ComplianceItem] {
        let config = loaded.config
        let policy = loaded.policy
        var items: [ComplianceItem] = []
        func add(_ id: String, _ source: String, _ requirement: String, _ status: ComplianceItem.Status, _ evidence: String, _ action: String? = nil) {
            items.append(ComplianceItem(id: id, source: source, requirement: requirement, status: status, evidence: evidence, action: status == .met ? nil : action))
        }

        // Roles and review.
        let roles = [("DSL", config.school.dsl), ("ICT lead", config.school.ictLead), ("governor", config.school.governor)]
        let named = roles.filter { $0.1 != nil }
        add("roles", "DfE standard 1", "Roles and responsibilities for filtering and monitoring are assigned",
            named.count == roles.count ? .met : named.isEmpty ? .notMet : .partly,
            named.isEmpty ? "no names in [school]" : named.map { "\($0.0): \($0.1!)" }.joined(separator: "; "),
            "name the people in [school]: dsl, ict-lead, governor")
        let reviewAge = facts.lastReview.map { now.timeIntervalSince($0) / 86_400 }
        add("review", "DfE standard 1", "Filtering and monitoring provision is reviewed at least annually",
            (reviewAge ?? .infinity) <= 365 ? .met : .notMet,
            facts.lastReview.map { "last review \(Self.day($0))" + (facts.lastReviewNote.map { ": \($0)" } ?? "") } ?? "no review recorded",
            "hold the review, then record it: schoolgate compliance --record-review \"who took part, what changed\"")

        // Filtering.
        for slot in LockedSlot.allCases {
            let entries = loaded.stats.first { $0.category == slot.category }?.entries ?? 0
            let age = lockedFileDates[slot].map { Int(now.timeIntervalSince($0) / 86_400) }
            let status: ComplianceItem.Status = entries == 0 ? .notMet : (age ?? 0) > 7 ? .partly : .met
            add(slot.rawValue, "DfE standard 2; UKSIC appropriate filtering",
                "The \(slot.title) is applied for everyone and kept current",
                status, entries == 0 ? "slot empty (no file at \(config.lockedPaths[slot] ?? "?"))" : "\(entries) entries" + (age.map { ", file \($0) day(s) old" } ?? ""),
                entries == 0 ? "obtain the list (IWF membership or through your filtering provider; CTIRU via the Home Office) and place it at \(config.lockedPaths[slot] ?? "the configured path")"
                             : "update the list file at least weekly")
        }
        for group in policy.groupOrder.compactMap({ policy.groups[$0] }) {
            let defined = Set(loaded.stats.map(\.category))
            let missing = requiredCategories.filter { defined.contains($0) && group.blocked[$0] == nil }
            let undefined = requiredCategories.filter { !defined.contains($0) }
            let status: ComplianceItem.Status = group.walledGarden ? .met : (missing.isEmpty && undefined.isEmpty) ? .met : .partly
            let evidence = group.walledGarden ? "allow-list only (walled garden)"
                : missing.isEmpty && undefined.isEmpty ? "blocks \(requiredCategories.joined(separator: ", "))"
                : (missing.isEmpty ? "" : "not blocked: \(missing.joined(separator: ", "))") + (undefined.isEmpty ? "" : (missing.isEmpty ? "" : "; ") + "no category: \(undefined.joined(separator: ", "))")
            add("categories-\(group.name)", "DfE standard 2; UKSIC appropriate filtering", "Group \(group.name): harmful and inappropriate content is blocked",
                status, evidence, "block the missing categories for \(group.name), or record why this group needs them (staff may for teaching)")
        }
        let recommendedMissing = recommendedCategories.filter { name in !loaded.stats.contains { $0.category == name } }
        add("categories-recommended", "UKSIC appropriate filtering", "Discrimination and piracy content is filtered",
            recommendedMissing.isEmpty ? .met : .partly,
            recommendedMissing.isEmpty ? "categories defined" : "no category: \(recommendedMissing.joined(separator: ", "))",
            "add categories for them (UT1 has none for these: use your provider's lists or local lists)")
        let guests = policy.groupOrder.compactMap { policy.groups[$0] }.filter { $0.requires == .consent }
        add("guests", "DfE standard 2", "Guests and their devices are filtered and agree to acceptable use",
            guests.isEmpty ? .notMet : .met,
            guests.isEmpty ? "no group requires consent" : "\(guests.map(\.name).joined(separator: ", ")) must accept terms version \(config.consent.termsVersion)",
            "add a guests group with requires = consent for the guest network's address range")
        let bypassHeld = config.proxy.sniMismatch != .allow && config.proxy.nonTLS != .allow
        add("bypass", "UKSIC appropriate filtering", "Attempts to get round the filter are blocked or reported",
            bypassHeld ? .met : .partly,
            "SNI mismatch: \(config.proxy.sniMismatch.rawValue), non-TLS tunnels: \(config.proxy.nonTLS.rawValue), borrowed names: \(config.proxy.destinationMismatch.rawValue)",
            "set sni-mismatch and non-tls to flag or block")
        add("firewall", "UKSIC appropriate filtering", "QUIC (UDP 443) and DNS over TLS are blocked at the firewall",
            .checkElsewhere, "the firewall is outside Schoolgate", "check the router's rules (README, Transparent mode)")

        // Monitoring.
        let identified = config.groups.contains { $0.requires == .authentication } || config.directory != nil || config.radius != nil || !config.addressUsers.isEmpty
        add("identity", "DfE standard 3; UKSIC appropriate monitoring", "Activity can be traced to an individual user",
            identified ? .met : .partly,
            identified ? [config.groups.contains { $0.requires == .authentication } ? "proxy sign-in" : nil, config.directory.map { _ in "directory" },
                          config.radius.map { _ in "RADIUS accounting" }, config.addressUsers.isEmpty ? nil : "fixed device names"].compactMap { $0 }.joined(separator: ", ")
                       : "devices are known by address only",
            "require sign-in for pupils and staff, or feed Wi-Fi logins by RADIUS accounting")
        add("visits", "DfE standard 3", "Web activity is monitored and recorded",
            facts.visitsLastWeek > 0 ? .met : .notMet, "\(facts.visitsLastWeek) requests recorded in the last 7 days",
            "check that serve is running and the database is writable")
        let flagless = policy.groupOrder.compactMap { policy.groups[$0] }.filter { $0.requires != .consent && ($0.flagged["self-harm"] == nil || $0.flagged["extremism"] == nil) }
        add("incidents", "DfE standard 3; UKSIC appropriate monitoring", "Concerning activity (self-harm, extremism) raises an incident for the DSL",
            flagless.isEmpty ? .met : .partly,
            flagless.isEmpty ? "every group flags self-harm and extremism" : "no self-harm or extremism flag for: \(flagless.map(\.name).joined(separator: ", "))",
            "flag self-harm and extremism for every group with a severity")
        let alertStatus: ComplianceItem.Status = !config.alerts.isConfigured ? .notMet
            : facts.alertFailures > 0 || facts.incidentsAlerted < facts.incidentsNeedingAlert ? .partly : .met
        add("alerts", "DfE standard 3", "The DSL is told of serious incidents promptly",
            alertStatus,
            config.alerts.isConfigured
                ? "\(config.alerts.webhooks.count + config.alerts.commands.count) target(s) for \(config.alerts.minimumSeverity.rawValue) and above; last 30 days: \(facts.incidentsAlerted) of \(facts.incidentsNeedingAlert) incidents delivered, \(facts.alertFailures) failed attempts"
                : "no [alerts] targets",
            config.alerts.isConfigured ? "check the alert target (incidents show delivery errors)" : "add a webhook or command in [alerts]")
        let monitoring = config.monitoring
        add("retention", "UK GDPR (storage limitation)", "Records are kept no longer than needed",
            .met, "visits \(monitoring.visitRetentionDays) days, closed incidents \(monitoring.incidentRetentionDays) days, audit trail \(monitoring.auditRetentionDays) days, purged daily")
        return items
    }

    static func day(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        return formatter.string(from: date)
    }
}
