import Foundation
import Testing
@testable import SchoolgatePolicy
@testable import SchoolgateStore

/// What every `MonitoringStore` must do, whatever is behind it: run against SQLite (always)
/// and PostgreSQL (when a server is reachable), the same test bodies for both.
enum StoreContract {
    static func storesVisitsAndFindsThemByUserAndPeriod(_ store: any MonitoringStore) async throws {
        try await store.record(visits: [visit(), visit(at: t0 + 60), visit("pupil2", at: t0 + 30), visit(at: t0 + 7200)], sightings: [], foldWindow: 3600)
        let hour = try await store.visits(subject: "pupil1", from: t0, to: t0 + 3600, limit: 100)
        #expect(hour.count == 2)
        #expect(hour[0] == visit())
        #expect(try await store.visits(subject: nil, from: nil, to: nil, limit: 100).count == 4)
    }

    static func foldsRepeatsWithinTheWindowIntoOneIncident(_ store: any MonitoringStore) async throws {
        let first = try await store.record(visits: [], sightings: [sighting(), sighting(at: t0 + 600)], foldWindow: 3600)
        #expect(first[0] == first[1])
        let later = try await store.record(visits: [], sightings: [sighting(at: t0 + 600 + 3599, severity: .critical)], foldWindow: 3600)
        #expect(later == [first[0]])
        let incident = try #require(try await store.incident(id: first[0]))
        #expect(incident.count == 3)
        #expect(incident.created == t0)
        #expect(incident.lastSeen == t0 + 4199)
        #expect(incident.severity == .critical, "a fold keeps the highest severity")
        // Past the window, another user, another site or another category: new incidents.
        let others = try await store.record(visits: [], sightings: [
            sighting(at: t0 + 4199 + 3601), sighting("pupil2"), sighting(site: "other.example"), sighting(category: "extremism"),
        ], foldWindow: 3600)
        #expect(Set(others).count == 4)
        #expect(!others.contains(first[0]))
    }

    static func aClosedIncidentIsNotReopenedByARepeat(_ store: any MonitoringStore) async throws {
        let id = try await store.record(visits: [], sightings: [sighting()], foldWindow: 3600)[0]
        _ = try await store.update(incident: id, .close(outcome: "spoke to pupil"), by: "dsl", at: t0 + 10)
        let next = try await store.record(visits: [], sightings: [sighting(at: t0 + 20)], foldWindow: 3600)[0]
        #expect(next != id)
    }

    static func followsTheWorkflowAndRefusesIllegalSteps(_ store: any MonitoringStore) async throws {
        let id = try await store.record(visits: [], sightings: [sighting()], foldWindow: 3600)[0]
        var incident = try await store.update(incident: id, .acknowledge, by: "mrs.dsl", at: t0 + 1)
        #expect(incident.status == .acknowledged)
        await #expect(throws: StoreError("incident \(id) is acknowledged; only a new incident can be acknowledged")) {
            try await store.update(incident: id, .acknowledge, by: "mrs.dsl", at: t0 + 2)
        }
        incident = try await store.update(incident: id, .assign(to: "mr.deputy"), by: "mrs.dsl", at: t0 + 3)
        incident = try await store.update(incident: id, .note("Spoke to form tutor."), by: "mr.deputy", at: t0 + 4)
        incident = try await store.update(incident: id, .escalate(to: "local authority designated officer"), by: "mrs.dsl", at: t0 + 5)
        #expect(incident.status == .escalated)
        incident = try await store.update(incident: id, .close(outcome: "referred; support plan in place"), by: "mrs.dsl", at: t0 + 6)
        let stored = try #require(try await store.incident(id: id))
        #expect(stored == incident)
        #expect(stored.assignee == "mr.deputy")
        #expect(stored.notes == [Incident.Note(time: t0 + 4, author: "mr.deputy", text: "Spoke to form tutor.")])
        #expect(stored.outcome == "referred; support plan in place")
        await #expect(throws: StoreError("incident \(id) is closed; it cannot be changed (note)")) {
            try await store.update(incident: id, .note("late"), by: "x", at: t0 + 7)
        }
        await #expect(throws: StoreError("no incident 999")) { try await store.update(incident: 999, .acknowledge, by: "x", at: t0) }
        let audit = try await store.auditTrail(since: nil, limit: 100)
        #expect(audit.map(\.action) == ["incident close", "incident escalate", "incident note", "incident assign", "incident acknowledge"])
        #expect(audit.allSatisfy { $0.detail.contains("incident \(id)") })
    }

    static func listsMostSevereAndNewestFirstWithFilters(_ store: any MonitoringStore) async throws {
        let ids = try await store.record(visits: [], sightings: [
            sighting("a", at: t0, severity: .low), sighting("b", at: t0 + 10, severity: .critical),
            sighting("c", at: t0 + 20, severity: .high), sighting("d", at: t0 + 30, severity: .high),
        ], foldWindow: 3600)
        #expect(try await store.incidents(IncidentQuery()).map(\.subject) == ["b", "d", "c", "a"])
        #expect(try await store.incidents(IncidentQuery(minimumSeverity: .high, limit: 2)).map(\.subject) == ["b", "d"])
        #expect(try await store.incidents(IncidentQuery(subject: "c")).map(\.id) == [ids[2]])
        _ = try await store.update(incident: ids[1], .acknowledge, by: "dsl", at: t0)
        #expect(try await store.incidents(IncidentQuery(statuses: [.new])).map(\.subject) == ["d", "c", "a"])
        #expect(try await store.incidents(IncidentQuery(since: t0 + 15)).map(\.subject) == ["d", "c"])
    }

    static func purgesOldVisitsClosedIncidentsAndAuditSeparately(_ store: any MonitoringStore) async throws {
        let ids = try await store.record(visits: [visit(at: t0), visit(at: t0 + 100)], sightings: [sighting(at: t0), sighting("b", at: t0)], foldWindow: 60)
        _ = try await store.update(incident: ids[0], .close(outcome: "no concern"), by: "dsl", at: t0 + 1)
        try await store.audit(AuditEntry(time: t0 - 10, actor: "ict", action: "config reload", detail: "old"))
        let result = try await store.purge(visitsBefore: t0 + 50, incidentsBefore: t0 + 50, auditBefore: t0)
        #expect(result == PurgeResult(visits: 1, incidents: 1, auditEntries: 1))
        #expect(try await store.incident(id: ids[0]) == nil)
        #expect(try await store.incident(id: ids[1]) != nil, "open incidents are kept whatever their age")
        #expect(try await store.visits(subject: nil, from: nil, to: nil, limit: 10).count == 1)
        #expect(try await store.auditTrail(since: nil, limit: 10).count == 1)
    }

    static func summarisesBlockedSitesCategoriesWeeksAndUsers(_ store: any MonitoringStore) async throws {
        func blocked(_ user: String, _ group: String, _ host: String, _ category: String) -> Visit {
            var visit = visit(user, host: host, verdict: .block)
            visit.group = group
            visit.category = category
            return visit
        }
        try await store.record(visits: [
            blocked("a", "ks2", "bet365.com", "gambling"), blocked("a", "ks2", "bet365.com", "gambling"),
            blocked("b", "ks2", "tiktok.com", "social"), blocked("c", "staff", "tiktok.com", "social"),
            visit("a", at: t0 + 60), visit("a", at: t0 + 60), visit("b"),
        ], sightings: [
            sighting(at: Date(timeIntervalSince1970: 1_789_948_800)),              // Monday 2026-09-21: week 39
            sighting("b", at: Date(timeIntervalSince1970: 1_790_380_800)),         // Saturday 2026-09-26: week 39
            sighting("c", at: Date(timeIntervalSince1970: 1_790_553_600)),         // Monday 2026-09-28: week 40
        ], foldWindow: 60)
        let report = try await store.report(since: Date(timeIntervalSince1970: 0), top: 1)
        #expect(report.visits == 7)
        #expect(report.blocked == 4)
        #expect(report.topBlockedSites == [.init(group: "ks2", name: "bet365.com", count: 2), .init(group: "staff", name: "tiktok.com", count: 1)])
        #expect(report.topBlockedCategories.first == .init(group: "ks2", name: "gambling", count: 2))
        #expect(report.incidentsPerWeek == [.init(group: nil, name: "2026-W39", count: 2), .init(group: nil, name: "2026-W40", count: 1)])
        #expect(report.busiestUsers == [.init(group: "pupils-ks3", name: "a", count: 4)])
    }

    static func keepsAgreementsNewestFirstAndRevokesThemWithAnAuditEntry(_ store: any MonitoringStore) async throws {
        let first = try await store.recordConsent(ConsentRecord(client: "10.99.0.5", mac: "aa:bb:cc:dd:ee:ff", name: "Ada", termsVersion: "1", consentedAt: t0))
        let second = try await store.recordConsent(ConsentRecord(client: "10.99.0.6", termsVersion: "1", consentedAt: t0 + 60))
        let listed = try await store.consents(since: nil, limit: 10)
        #expect(listed.map(\.id) == [second, first])
        #expect(listed.last == ConsentRecord(id: first, client: "10.99.0.5", mac: "aa:bb:cc:dd:ee:ff", name: "Ada", termsVersion: "1", consentedAt: t0))
        #expect(try await store.consents(since: t0 + 30, limit: 10).map(\.id) == [second])

        #expect(try await store.revokeConsents(client: "10.99.0.5", by: "ict.manager", at: t0 + 120) == 1)
        #expect(try await store.revokeConsents(client: "10.99.0.5", by: "ict.manager", at: t0 + 130) == 0, "already ended")
        let after = try await store.consents(since: nil, limit: 10)
        #expect(after.first { $0.id == first }?.revokedAt == t0 + 120)
        #expect(after.first { $0.id == second }?.revokedAt == nil)
        #expect(try await store.revokeConsents(client: nil, by: "ict.manager", at: t0 + 140) == 1)
        let audit = try await store.auditTrail(since: nil, limit: 10)
        #expect(audit.filter { $0.action == "consent revoke" && $0.actor == "ict.manager" }.count == 3)
        #expect(audit.contains { $0.detail == "every guest: 1 agreement(s) ended" })
    }

    static func purgesAgreementsWithTheVisitsTheyCovered(_ store: any MonitoringStore) async throws {
        _ = try await store.recordConsent(ConsentRecord(client: "10.99.0.5", termsVersion: "1", consentedAt: t0))
        _ = try await store.recordConsent(ConsentRecord(client: "10.99.0.5", termsVersion: "1", consentedAt: t0 + 86_400))
        _ = try await store.purge(visitsBefore: t0 + 3_600, incidentsBefore: t0, auditBefore: t0)
        #expect(try await store.consents(since: nil, limit: 10).map(\.consentedAt) == [t0 + 86_400])
    }

    static func keepsOverridesWithWhoAndWhyAndEndsThemEarlyOnRequest(_ store: any MonitoringStore) async throws {
        let lesson = try await store.addOverride(PolicyOverride(host: "odds.example", action: .allow, group: "pupils-ks4", category: "maths",
                                                                reason: "probability lesson", actor: "j.teacher", created: t0, expires: t0 + 3_600))
        let blocked = try await store.addOverride(PolicyOverride(host: "game.example", action: .block, reason: "exam week", actor: "ict", created: t0))
        #expect(try await store.overrides(at: t0 + 60, includingEnded: false).map(\.id) == [lesson, blocked])
        #expect(try await store.overrides(at: t0 + 3_600, includingEnded: false).map(\.id) == [blocked], "the lesson's ended")
        let removed = try await store.removeOverride(id: blocked, by: "ict", at: t0 + 120)
        #expect(removed.removed == t0 + 120 && removed.host == "game.example")
        await #expect(throws: StoreError.self) { try await store.removeOverride(id: blocked, by: "ict", at: t0 + 130) }
        #expect(try await store.overrides(at: t0 + 200, includingEnded: false).map(\.id) == [lesson])
        #expect(try await store.overrides(at: t0 + 200, includingEnded: true).count == 2)
        let audit = try await store.auditTrail(since: nil, limit: 10).map { "\($0.actor) \($0.action): \($0.detail)" }
        #expect(audit.contains { $0.hasPrefix("j.teacher override allow: #\(lesson) odds.example for pupils-ks4 until ") && $0.hasSuffix(": probability lesson") })
        #expect(audit.contains("ict override block: #\(blocked) game.example for every group: exam week"))
        #expect(audit.contains("ict override remove: #\(blocked) game.example"))
    }
}
