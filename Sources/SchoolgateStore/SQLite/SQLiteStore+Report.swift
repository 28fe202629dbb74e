import Foundation
import GRDB
import SchoolgatePolicy

extension SQLiteStore {
    public func report(since: Date, top: Int) async throws -> MonitoringReport {
        try await pool.read { db in
            let start = since.timeIntervalSince1970
            func counts(_ sql: String, _ arguments: StatementArguments) throws -> [MonitoringReport.Count] {
                try Row.fetchAll(db, sql: sql, arguments: arguments).map {
                    MonitoringReport.Count(group: $0["grp"], name: $0["name"], count: $0["n"])
                }
            }
            // ISO weeks: the week's Thursday (back 3 days, then on to a Thursday) fixes its year and number.
            // Per group: rank within the group, keep the top N of each.
            func topPerGroup(_ column: String) throws -> [MonitoringReport.Count] {
                try counts("""
                    SELECT grp, name, n FROM (
                        SELECT grp, \(column) AS name, COUNT(*) AS n,
                               ROW_NUMBER() OVER (PARTITION BY grp ORDER BY COUNT(*) DESC, \(column)) AS position
                        FROM visit WHERE time >= ? AND verdict = 'block' AND \(column) IS NOT NULL GROUP BY grp, \(column))
                    WHERE position <= ? ORDER BY grp, n DESC, name
                    """, [start, top])
            }
            let totals = try Row.fetchOne(db, sql: "SELECT COUNT(*) AS visits, COALESCE(SUM(verdict = 'block'), 0) AS blocked FROM visit WHERE time >= ?", arguments: [start])
            return MonitoringReport(
                since: since, visits: totals?["visits"] ?? 0, blocked: totals?["blocked"] ?? 0,
                topBlockedSites: try topPerGroup("host"), topBlockedCategories: try topPerGroup("category"),
                incidentsPerWeek: try counts("""
                    SELECT NULL AS grp, strftime('%Y', created, 'unixepoch', '-3 days', 'weekday 4') || '-W' ||
                           printf('%02d', (CAST(strftime('%j', created, 'unixepoch', '-3 days', 'weekday 4') AS INTEGER) - 1) / 7 + 1) AS name,
                           COUNT(*) AS n
                    FROM incident WHERE created >= ? GROUP BY name ORDER BY name
                    """, [start]),
                busiestUsers: try counts("""
                    SELECT (SELECT latest.grp FROM visit AS latest WHERE latest.subject = visit.subject ORDER BY latest.time DESC, latest.id DESC LIMIT 1) AS grp,
                           subject AS name, COUNT(*) AS n
                    FROM visit WHERE time >= ? GROUP BY subject ORDER BY n DESC, name LIMIT ?
                    """, [start, top]))
        }
    }
}
