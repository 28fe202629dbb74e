import Foundation
import PostgresNIO
import SchoolgatePolicy

extension PostgresStore {
    public func visits(subject: String?, from: Date?, to: Date?, limit: Int) async throws -> [Visit] {
        var statement = Statement()
        var clauses: [String] = []
        if let subject { clauses.append("subject = \(try statement.bind(subject))") }
        if let from { clauses.append("time >= \(try statement.bind(from.timeIntervalSince1970))") }
        if let to { clauses.append("time <= \(try statement.bind(to.timeIntervalSince1970))") }
        let filter = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
        statement.sql = "SELECT * FROM \(t("visit")) \(filter) ORDER BY time LIMIT \(try statement.bind(limit))"
        return try await rows(statement.query).map { row in
            Visit(time: try Self.date(row["time"]), user: try row["user"].decode(String?.self), group: try row["grp"].decode(String.self),
                  client: try row["client"].decode(String.self), method: try row["method"].decode(String.self), host: try row["host"].decode(String.self),
                  sni: try row["sni"].decode(String?.self), url: try row["url"].decode(String?.self),
                  verdict: Decision.Verdict(rawValue: try row["verdict"].decode(String.self)) ?? .allow,
                  rule: Decision.Rule(rawValue: try row["rule"].decode(String.self)) ?? .defaultAllow, category: try row["category"].decode(String?.self),
                  status: try row["status"].decode(Int.self), bytesIn: try row["bytes_in"].decode(Int64.self), bytesOut: try row["bytes_out"].decode(Int64.self),
                  durationMilliseconds: Int(try row["duration_ms"].decode(Int64.self)))
        }
    }

    public func report(since: Date, top: Int) async throws -> MonitoringReport {
        let start = since.timeIntervalSince1970
        func counts(_ query: PostgresQuery) async throws -> [MonitoringReport.Count] {
            try await rows(query).map {
                MonitoringReport.Count(group: try $0["grp"].decode(String?.self), name: try $0["name"].decode(String.self), count: Int(try $0["n"].decode(Int64.self)))
            }
        }
        func topPerGroup(_ column: String) async throws -> [MonitoringReport.Count] {
            try await counts("""
                SELECT grp, name, n FROM (
                    SELECT grp, \(unescaped: column) AS name, COUNT(*) AS n,
                           ROW_NUMBER() OVER (PARTITION BY grp ORDER BY COUNT(*) DESC, \(unescaped: column)) AS position
                    FROM \(unescaped: t("visit")) WHERE time >= \(start) AND verdict = 'block' AND \(unescaped: column) IS NOT NULL
                    GROUP BY grp, \(unescaped: column)) AS ranked
                WHERE position <= \(top) ORDER BY grp, n DESC, name
                """)
        }
        let totals = try await rows("""
            SELECT COUNT(*) AS visits, COUNT(*) FILTER (WHERE verdict = 'block') AS blocked FROM \(unescaped: t("visit")) WHERE time >= \(start)
            """)
        return MonitoringReport(
            since: since, visits: Int(try totals.first?["visits"].decode(Int64.self) ?? 0), blocked: Int(try totals.first?["blocked"].decode(Int64.self) ?? 0),
            topBlockedSites: try await topPerGroup("host"), topBlockedCategories: try await topPerGroup("category"),
            incidentsPerWeek: try await counts("""
                SELECT NULL::TEXT AS grp, to_char(to_timestamp(created) AT TIME ZONE 'UTC', 'IYYY-"W"IW') AS name, COUNT(*) AS n
                FROM \(unescaped: t("incident")) WHERE created >= \(start) GROUP BY name ORDER BY name
                """),
            busiestUsers: try await counts("""
                SELECT (SELECT latest.grp FROM \(unescaped: t("visit")) AS latest WHERE latest.subject = visit.subject
                        ORDER BY latest.time DESC, latest.id DESC LIMIT 1) AS grp, subject AS name, COUNT(*) AS n
                FROM \(unescaped: t("visit")) AS visit WHERE time >= \(start) GROUP BY subject ORDER BY n DESC, name LIMIT \(top)
                """))
    }

    public func purge(visitsBefore: Date, incidentsBefore: Date, auditBefore: Date) async throws -> PurgeResult {
        try await transaction { connection in
            let visits = try await self.rows("DELETE FROM \(unescaped: self.t("visit")) WHERE time < \(visitsBefore.timeIntervalSince1970) RETURNING id", on: connection).count
            try await connection.query("DELETE FROM \(unescaped: self.t("consent")) WHERE time < \(visitsBefore.timeIntervalSince1970)", logger: self.logger)
            let incidents = try await self.rows("""
                DELETE FROM \(unescaped: self.t("incident")) WHERE status = 'closed' AND last_seen < \(incidentsBefore.timeIntervalSince1970) RETURNING id
                """, on: connection).count
            let audit = try await self.rows("DELETE FROM \(unescaped: self.t("audit")) WHERE time < \(auditBefore.timeIntervalSince1970) RETURNING id", on: connection).count
            return PurgeResult(visits: visits, incidents: incidents, auditEntries: audit)
        }
    }

    public func recordConsent(_ record: ConsentRecord) async throws -> Int64 {
        try await rows("""
            INSERT INTO \(unescaped: t("consent")) (time, client, mac, name, terms_version, revoked)
            VALUES (\(record.consentedAt.timeIntervalSince1970), \(record.client), \(record.mac), \(record.name), \(record.termsVersion),
                    \(record.revokedAt?.timeIntervalSince1970)) RETURNING id
            """)[0]["id"].decode(Int64.self)
    }

    public func consents(since: Date?, limit: Int) async throws -> [ConsentRecord] {
        try await rows("""
            SELECT * FROM \(unescaped: t("consent")) WHERE time >= \(since?.timeIntervalSince1970 ?? -Double.greatestFiniteMagnitude)
            ORDER BY time DESC, id DESC LIMIT \(limit)
            """).map {
            ConsentRecord(id: try $0["id"].decode(Int64.self), client: try $0["client"].decode(String.self), mac: try $0["mac"].decode(String?.self),
                          name: try $0["name"].decode(String?.self), termsVersion: try $0["terms_version"].decode(String.self),
                          consentedAt: try Self.date($0["time"]), revokedAt: try Self.optionalDate($0["revoked"]))
        }
    }

    public func revokeConsents(client: String?, by actor: String, at time: Date) async throws -> Int {
        try await transaction { connection in
            let count = try await self.rows("""
                UPDATE \(unescaped: self.t("consent")) SET revoked = \(time.timeIntervalSince1970)
                WHERE revoked IS NULL AND (\(client)::TEXT IS NULL OR client = \(client)) RETURNING id
                """, on: connection).count
            try await self.insertAudit(AuditEntry(time: time, actor: actor, action: "consent revoke",
                                                  detail: "\(client ?? "every guest"): \(count) agreement(s) ended"), on: connection)
            return count
        }
    }

    public func addOverride(_ override: PolicyOverride) async throws -> Int64 {
        try await transaction { connection in
            let id = try await self.rows("""
                INSERT INTO \(unescaped: self.t("override")) (host, action, grp, category, reason, actor, created, expires)
                VALUES (\(override.host), \(override.action.rawValue), \(override.group), \(override.category), \(override.reason), \(override.actor),
                        \(override.created.timeIntervalSince1970), \(override.expires?.timeIntervalSince1970)) RETURNING id
                """, on: connection)[0]["id"].decode(Int64.self)
            try await self.insertAudit(AuditEntry(time: override.created, actor: override.actor, action: "override \(override.action.rawValue)",
                                                  detail: override.auditDetail(id: id)), on: connection)
            return id
        }
    }

    public func overrides(at time: Date, includingEnded: Bool) async throws -> [PolicyOverride] {
        let now = time.timeIntervalSince1970
        let query: PostgresQuery = includingEnded
            ? "SELECT * FROM \(unescaped: t("override")) ORDER BY created DESC, id DESC"
            : "SELECT * FROM \(unescaped: t("override")) WHERE removed IS NULL AND created <= \(now) AND (expires IS NULL OR expires > \(now)) ORDER BY id"
        return try await rows(query).map(Self.override(from:))
    }

    public func removeOverride(id: Int64, by actor: String, at time: Date) async throws -> PolicyOverride {
        try await transaction { connection in
            guard let row = try await self.rows("SELECT * FROM \(unescaped: self.t("override")) WHERE id = \(id) FOR UPDATE", on: connection).first else {
                throw StoreError("no override #\(id)")
            }
            var override = try Self.override(from: row)
            guard override.isActive(at: time) else { throw StoreError("override #\(id) has already ended") }
            try await connection.query("UPDATE \(unescaped: self.t("override")) SET removed = \(time.timeIntervalSince1970) WHERE id = \(id)", logger: self.logger)
            override.removed = time
            try await self.insertAudit(AuditEntry(time: time, actor: actor, action: "override remove", detail: "#\(id) \(override.host)"), on: connection)
            return override
        }
    }

    static func override(from row: PostgresRandomAccessRow) throws -> PolicyOverride {
        PolicyOverride(id: try row["id"].decode(Int64.self), host: try row["host"].decode(String.self),
                       action: PolicyOverride.Action(rawValue: try row["action"].decode(String.self)) ?? .block, group: try row["grp"].decode(String?.self),
                       category: try row["category"].decode(String?.self), reason: try row["reason"].decode(String.self), actor: try row["actor"].decode(String.self),
                       created: try date(row["created"]), expires: try optionalDate(row["expires"]), removed: try optionalDate(row["removed"]))
    }
}
