import Foundation
import Logging
import Testing
@testable import SchoolgatePolicy
@testable import SchoolgateStore

/// A fresh database file per test, removed afterwards.
final class TemporaryStore {
    let directory: String
    let store: SQLiteStore

    /// `hold`: background batches at nice 5, held mid-write (`BatchHold`). A batch gives way as
    /// starved only after `starvedAfter`: a minute unless a test is about that, since beside the
    /// rest of the suite a batch at SCHED_IDLE may well take over the second `serve` allows.
    init(hold: BatchHold? = nil, starvedAfter: Duration = .seconds(60)) throws {
        directory = NSTemporaryDirectory() + "schoolgate-store-" + UUID().uuidString
        var beforeInsert: (@Sendable () -> Void)?
        if let hold { beforeInsert = { hold.beforeInsert() } }
        store = try SQLiteStore(path: directory + "/data/schoolgate.sqlite", backgroundPriority: hold == nil ? .idle : .nice5,
                                starvedAfter: starvedAfter, beforeBackgroundInsert: beforeInsert)
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
        try await StoreContract.storesVisitsAndFindsThemByUserAndPeriod(temporary.store)
        withExtendedLifetime(temporary) {}
    }

    @Test func foldsRepeatsWithinTheWindowIntoOneIncident() async throws {
        let temporary = try TemporaryStore()
        try await StoreContract.foldsRepeatsWithinTheWindowIntoOneIncident(temporary.store)
        withExtendedLifetime(temporary) {}
    }

    @Test func aClosedIncidentIsNotReopenedByARepeat() async throws {
        let temporary = try TemporaryStore()
        try await StoreContract.aClosedIncidentIsNotReopenedByARepeat(temporary.store)
        withExtendedLifetime(temporary) {}
    }

    @Test func followsTheWorkflowAndRefusesIllegalSteps() async throws {
        let temporary = try TemporaryStore()
        try await StoreContract.followsTheWorkflowAndRefusesIllegalSteps(temporary.store)
        withExtendedLifetime(temporary) {}
    }

    @Test func listsMostSevereAndNewestFirstWithFilters() async throws {
        let temporary = try TemporaryStore()
        try await StoreContract.listsMostSevereAndNewestFirstWithFilters(temporary.store)
        withExtendedLifetime(temporary) {}
    }

    @Test func purgesOldVisitsClosedIncidentsAndAuditSeparately() async throws {
        let temporary = try TemporaryStore()
        try await StoreContract.purgesOldVisitsClosedIncidentsAndAuditSeparately(temporary.store)
        withExtendedLifetime(temporary) {}
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
        try await StoreContract.summarisesBlockedSitesCategoriesWeeksAndUsers(temporary.store)
        withExtendedLifetime(temporary) {}
    }
}
