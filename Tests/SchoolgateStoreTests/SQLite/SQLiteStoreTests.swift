import Foundation
import Logging
import Testing
@testable import SchoolgatePolicy
@testable import SchoolgateStore

/// A fresh database file per test, removed afterwards.
final class TemporaryStore {
    let directory: String
    let store: SQLiteStore

    init() throws {
        directory = NSTemporaryDirectory() + "schoolgate-store-" + UUID().uuidString
        store = try SQLiteStore(path: directory + "/data/schoolgate.sqlite")
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }
}

let t0 = Date(timeIntervalSince1970: 1_790_000_000)

func visit(_ subject: String = "pupil1", at time: Date = t0, host: String = "example.com", verdict: Decision.Verdict = .allow) -> Visit {
    Visit(time: time, user: subject, group: "pupils-ks3", client: "10.3.0.7", method: "GET", host: host,
          url: "http://\(host)/", verdict: verdict, rule: .defaultAllow, status: 200, bytesIn: 100, bytesOut: 2000, durationMilliseconds: 12)
}

func sighting(_ subject: String = "pupil1", at time: Date = t0, site: String = "harm.example", category: String = "self-harm", severity: Severity = .high) -> IncidentSighting {
    IncidentSighting(time: time, subject: subject, group: "pupils-ks3", client: "10.3.0.7", category: category, severity: severity, site: site)
}

@Suite struct SQLiteStoreTests {
    @Test func createsItsFileForTheOwnerOnly() throws {
        let temporary = try TemporaryStore()
        let attributes = try FileManager.default.attributesOfItem(atPath: temporary.store.path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let directory = try FileManager.default.attributesOfItem(atPath: (temporary.store.path as NSString).deletingLastPathComponent)
        #expect((directory[.posixPermissions] as? Int) == 0o700)
    }

    @Test func storesVisitsAndFindsThemByUserAndPeriod() async throws {
        let temporary = try TemporaryStore()
        defer { withExtendedLifetime(temporary) {} }
        let store = temporary.store
        try await store.record(visits: [visit(), visit(at: t0 + 60), visit("pupil2", at: t0 + 30), visit(at: t0 + 7200)], sightings: [], foldWindow: 3600)
        let hour = try await store.visits(subject: "pupil1", from: t0, to: t0 + 3600, limit: 100)
        #expect(hour.count == 2)
        #expect(hour[0] == visit())
        #expect(try await store.visits(subject: nil, from: nil, to: nil, limit: 100).count == 4)
    }

    @Test func foldsRepeatsWithinTheWindowIntoOneIncident() async throws {
        let temporary = try TemporaryStore()
        defer { withExtendedLifetime(temporary) {} }
        let store = temporary.store
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

    @Test func aClosedIncidentIsNotReopenedByARepeat() async throws {
        let temporary = try TemporaryStore()
        defer { withExtendedLifetime(temporary) {} }
        let store = temporary.store
        let id = try await store.record(visits: [], sightings: [sighting()], foldWindow: 3600)[0]
        _ = try await store.update(incident: id, .close(outcome: "spoke to pupil"), by: "dsl", at: t0 + 10)
        let next = try await store.record(visits: [], sightings: [sighting(at: t0 + 20)], foldWindow: 3600)[0]
        #expect(next != id)
    }

    @Test func followsTheWorkflowAndRefusesIllegalSteps() async throws {
        let temporary = try TemporaryStore()
        defer { withExtendedLifetime(temporary) {} }
        let store = temporary.store
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

    @Test func listsMostSevereAndNewestFirstWithFilters() async throws {
        let temporary = try TemporaryStore()
        defer { withExtendedLifetime(temporary) {} }
        let store = temporary.store
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

    @Test func purgesOldVisitsClosedIncidentsAndAuditSeparately() async throws {
        let temporary = try TemporaryStore()
        defer { withExtendedLifetime(temporary) {} }
        let store = temporary.store
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

    @Test func reopensAnExistingFileWithItsData() async throws {
        let temporary = try TemporaryStore()
        try await temporary.store.record(visits: [visit()], sightings: [sighting()], foldWindow: 60)
        let again = try SQLiteStore(path: temporary.store.path)
        #expect(try await again.visits(subject: nil, from: nil, to: nil, limit: 10).count == 1)
        #expect(try await again.incidents(IncidentQuery()).count == 1)
    }

    @Test func refusesAFileThatIsNotADatabase() throws {
        let directory = NSTemporaryDirectory() + "schoolgate-bad-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "not sqlite at all".write(toFile: directory + "/x.sqlite", atomically: true, encoding: .utf8)
        #expect(throws: StoreError.self) { try SQLiteStore(path: directory + "/x.sqlite") }
        #expect(try String(contentsOfFile: directory + "/x.sqlite", encoding: .utf8) == "not sqlite at all", "nothing stored is lost")
    }
}

@Suite struct SQLiteStoreReportTests {
    @Test func summarisesBlockedSitesCategoriesWeeksAndUsers() async throws {
        let temporary = try TemporaryStore()
        defer { withExtendedLifetime(temporary) {} }
        let store = temporary.store
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
}
