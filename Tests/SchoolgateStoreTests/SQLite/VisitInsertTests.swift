import Foundation
import GRDB
import Testing
@testable import SchoolgatePolicy
@testable import SchoolgateStore

/// VisitInsert binds sixteen columns by position: each must land in its own column, a nil as NULL
/// and an empty string as an empty string.
@Suite struct VisitInsertTests {
    @Test func everyFieldLandsInItsColumn() async throws {
        let temporary = try TemporaryStore()
        let full = Visit(time: t0, user: "pupil1", group: "pupils-ks3", client: "10.3.0.7", method: "CONNECT", host: "example.com",
                         sni: "www.example.com", url: "", verdict: .block, rule: .blockedCategory, category: "gambling",
                         status: 403, bytesIn: 123, bytesOut: 4567, durationMilliseconds: 89)
        let bare = Visit(time: t0.addingTimeInterval(1), user: nil, group: "guests", client: "10.9.0.1", method: "GET", host: "a.example",
                         verdict: .allow, rule: .defaultAllow, status: 200)
        try await temporary.store.record(visits: [full, bare], sightings: [], foldWindow: 0)
        let rows = try temporary.store.pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM visit ORDER BY id") }
        #expect(rows.count == 2)
        let row = rows[0]
        #expect(row["time"] as Double == t0.timeIntervalSince1970)
        #expect(row["subject"] as String == "pupil1")
        #expect(row["user"] as String? == "pupil1")
        #expect(row["grp"] as String == "pupils-ks3")
        #expect(row["client"] as String == "10.3.0.7")
        #expect(row["method"] as String == "CONNECT")
        #expect(row["host"] as String == "example.com")
        #expect(row["sni"] as String? == "www.example.com")
        #expect(row["url"] as String? == "")
        #expect(row["verdict"] as String == Decision.Verdict.block.rawValue)
        #expect(row["rule"] as String == Decision.Rule.blockedCategory.rawValue)
        #expect(row["category"] as String? == "gambling")
        #expect(row["status"] as Int == 403)
        #expect(row["bytes_in"] as Int64 == 123)
        #expect(row["bytes_out"] as Int64 == 4567)
        #expect(row["duration_ms"] as Int == 89)
        #expect(rows[1]["subject"] as String == "10.9.0.1")
        #expect((rows[1]["user"] as DatabaseValue).isNull)
        #expect((rows[1]["sni"] as DatabaseValue).isNull)
        #expect((rows[1]["url"] as DatabaseValue).isNull)
        #expect((rows[1]["category"] as DatabaseValue).isNull)
        withExtendedLifetime(temporary) {}
    }

    /// The text of each row is bound where it lies in one reused buffer: rows longer and shorter
    /// than the one before, and text that is not ASCII, each come back as they went in.
    @Test func rowsOfEveryLengthKeepTheirOwnText() async throws {
        let temporary = try TemporaryStore()
        let hosts = ["a.example", String(repeating: "long-label.", count: 40) + "example", "b.example", "", "école.example", "日本.example"]
        let visits = hosts.enumerated().map { index, host in
            Visit(time: t0.addingTimeInterval(Double(index)), user: index % 2 == 0 ? "pupil\(index)" : nil, group: "g\(index)",
                  client: "10.0.0.\(index)", method: "GET", host: host, url: "http://\(host)/" + String(repeating: "p", count: index * 300),
                  verdict: .allow, rule: .defaultAllow, status: 200)
        }
        try await temporary.store.record(visits: visits, sightings: [], foldWindow: 0)
        let rows = try temporary.store.pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM visit ORDER BY id") }
        #expect(rows.map { $0["host"] as String } == hosts)
        #expect(rows.map { $0["url"] as String } == visits.map { $0.url! })
        #expect(rows.map { $0["subject"] as String } == visits.map(\.subject))
        #expect(rows.map { $0["grp"] as String } == hosts.indices.map { "g\($0)" })
        #expect(rows.map { ($0["user"] as DatabaseValue).isNull } == hosts.indices.map { $0 % 2 == 1 })
        withExtendedLifetime(temporary) {}
    }
}
