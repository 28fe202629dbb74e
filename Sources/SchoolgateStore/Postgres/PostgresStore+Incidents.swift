import Foundation
import PostgresNIO
import SchoolgatePolicy

extension PostgresStore {
    /// `urgency` is not used: the server does the work, on CPU of its own scheduling.
    @discardableResult
    public func record(visits: [Visit], sightings: [IncidentSighting], foldWindow: TimeInterval, urgency: BatchUrgency) async throws -> [Int64] {
        try await transaction { connection in
            for visit in visits {
                try await connection.query("""
                    INSERT INTO \(unescaped: self.t("visit")) (time, subject, "user", grp, client, method, host, sni, url, verdict, rule, category,
                                                              status, bytes_in, bytes_out, duration_ms)
                    VALUES (\(visit.time.timeIntervalSince1970), \(visit.subject), \(visit.user), \(visit.group), \(visit.client), \(visit.method),
                            \(visit.host), \(visit.sni), \(visit.url), \(visit.verdict.rawValue), \(visit.rule.rawValue), \(visit.category),
                            \(visit.status), \(visit.bytesIn), \(visit.bytesOut), \(Int64(visit.durationMilliseconds)))
                    """, logger: self.logger)
            }
            var ids: [Int64] = []
            for sighting in sightings { ids.append(try await self.fold(sighting, window: foldWindow, on: connection)) }
            return ids
        }
    }

    private func fold(_ sighting: IncidentSighting, window: TimeInterval, on connection: PostgresConnection) async throws -> Int64 {
        let time = sighting.time.timeIntervalSince1970
        // Two sites of a trust can see the same pupil on the same site at once. `FOR UPDATE`
        // below locks an open incident, but not the absence of one: without this lock (held to
        // the end of the transaction) both would insert, and the repeat would not fold.
        let key = [t("incident"), sighting.subject, sighting.site, sighting.category].joined(separator: "\u{1F}")
        _ = try await rows("SELECT pg_advisory_xact_lock(hashtextextended(\(key), 0))", on: connection)
        let open = try await rows("""
            SELECT id, severity FROM \(unescaped: t("incident"))
            WHERE subject = \(sighting.subject) AND site = \(sighting.site) AND category = \(sighting.category) AND status != 'closed'
              AND last_seen >= \(time - window)
            ORDER BY last_seen DESC LIMIT 1 FOR UPDATE
            """, on: connection)
        if let row = open.first {
            let id = try row["id"].decode(Int64.self)
            let severity = max(try row["severity"].decode(Int.self), Self.rank(sighting.severity))
            try await connection.query("""
                UPDATE \(unescaped: t("incident")) SET count = count + 1, last_seen = GREATEST(last_seen, \(time)), severity = \(severity) WHERE id = \(id)
                """, logger: logger)
            return id
        }
        let inserted = try await rows("""
            INSERT INTO \(unescaped: t("incident")) (created, last_seen, subject, grp, client, category, severity, site, count, status)
            VALUES (\(time), \(time), \(sighting.subject), \(sighting.group), \(sighting.client), \(sighting.category),
                    \(Self.rank(sighting.severity)), \(sighting.site), 1, 'new')
            RETURNING id
            """, on: connection)
        return try inserted[0]["id"].decode(Int64.self)
    }

    public func update(incident id: Int64, _ action: IncidentAction, by actor: String, at time: Date) async throws -> Incident {
        try await transaction { connection in
            guard let incident = try await self.fetchIncident(id: id, on: connection, lock: true) else { throw StoreError("no incident \(id)") }
            let updated: Incident
            switch action.apply(to: incident, by: actor, at: time) {
            case .success(let result): updated = result
            case .failure(let error): throw StoreError(error.message)
            }
            try await connection.query("""
                UPDATE \(unescaped: self.t("incident")) SET status = \(updated.status.rawValue), assignee = \(updated.assignee),
                    escalated_to = \(updated.escalatedTo), outcome = \(updated.outcome) WHERE id = \(id)
                """, logger: self.logger)
            if case .note(let text) = action {
                try await connection.query("""
                    INSERT INTO \(unescaped: self.t("incident_note")) (incident_id, time, author, text) VALUES (\(id), \(time.timeIntervalSince1970), \(actor), \(text))
                    """, logger: self.logger)
            }
            try await self.insertAudit(AuditEntry(time: time, actor: actor, action: "incident \(action.name)", detail: IncidentAction.describe(action, id: id)),
                                       on: connection)
            return updated
        }
    }

    public func incidents(_ query: IncidentQuery) async throws -> [Incident] {
        var statement = Statement()
        var clauses: [String] = []
        if let statuses = query.statuses, !statuses.isEmpty {
            clauses.append("status IN (\(try statuses.map { try statement.bind($0.rawValue) }.joined(separator: ",")))")
        }
        if let minimum = query.minimumSeverity { clauses.append("severity >= \(try statement.bind(Self.rank(minimum)))") }
        if let subject = query.subject { clauses.append("subject = \(try statement.bind(subject))") }
        if let since = query.since { clauses.append("last_seen >= \(try statement.bind(since.timeIntervalSince1970))") }
        let filter = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
        statement.sql = "SELECT * FROM \(t("incident")) \(filter) ORDER BY severity DESC, last_seen DESC LIMIT \(try statement.bind(query.limit))"
        return try await client.withConnection { connection in
            var result: [Incident] = []
            for row in try await self.rows(statement.query, on: connection) { result.append(try await self.incident(from: row, on: connection)) }
            return result
        }
    }

    public func incident(id: Int64) async throws -> Incident? {
        try await client.withConnection { connection in try await self.fetchIncident(id: id, on: connection, lock: false) }
    }

    func fetchIncident(id: Int64, on connection: PostgresConnection, lock: Bool) async throws -> Incident? {
        let found = try await rows("SELECT * FROM \(unescaped: t("incident")) WHERE id = \(id) \(unescaped: lock ? "FOR UPDATE" : "")", on: connection)
        guard let row = found.first else { return nil }
        return try await incident(from: row, on: connection)
    }

    func incident(from row: PostgresRandomAccessRow, on connection: PostgresConnection) async throws -> Incident {
        let id = try row["id"].decode(Int64.self)
        let notes = try await rows("SELECT time, author, text FROM \(unescaped: t("incident_note")) WHERE incident_id = \(id) ORDER BY id", on: connection).map {
            Incident.Note(time: try Self.date($0["time"]), author: try $0["author"].decode(String.self), text: try $0["text"].decode(String.self))
        }
        return Incident(
            id: id, created: try Self.date(row["created"]), lastSeen: try Self.date(row["last_seen"]), subject: try row["subject"].decode(String.self),
            group: try row["grp"].decode(String.self), client: try row["client"].decode(String.self), category: try row["category"].decode(String.self),
            severity: Severity.allCases[min(3, max(0, try row["severity"].decode(Int.self)))], site: try row["site"].decode(String.self),
            count: Int(try row["count"].decode(Int64.self)), status: Incident.Status(rawValue: try row["status"].decode(String.self)) ?? .new,
            assignee: try row["assignee"].decode(String?.self), escalatedTo: try row["escalated_to"].decode(String?.self),
            outcome: try row["outcome"].decode(String?.self), notes: notes)
    }

    public func incidentsAwaitingAlert(target: String, minimumSeverity: Severity, since: Date, maxAttempts: Int, retryBefore: Date) async throws -> [Incident] {
        try await client.withConnection { connection in
            let found = try await self.rows("""
                SELECT incident.* FROM \(unescaped: self.t("incident")) AS incident
                LEFT JOIN \(unescaped: self.t("alert_delivery")) AS delivery ON delivery.incident_id = incident.id AND delivery.target = \(target)
                WHERE incident.severity >= \(Self.rank(minimumSeverity)) AND incident.created >= \(since.timeIntervalSince1970)
                  AND (delivery.incident_id IS NULL
                       OR (NOT delivery.delivered AND delivery.attempts < \(maxAttempts) AND delivery.last_attempt < \(retryBefore.timeIntervalSince1970)))
                ORDER BY incident.id LIMIT 100
                """, on: connection)
            var result: [Incident] = []
            for row in found { result.append(try await self.incident(from: row, on: connection)) }
            return result
        }
    }

    public func recordAlertAttempt(incident id: Int64, target: String, delivered: Bool, error: String?, at time: Date) async throws {
        try await client.query("""
            INSERT INTO \(unescaped: t("alert_delivery")) AS delivery (incident_id, target, attempts, delivered, last_attempt, last_error)
            VALUES (\(id), \(target), 1, \(delivered), \(time.timeIntervalSince1970), \(error))
            ON CONFLICT (incident_id, target) DO UPDATE SET attempts = delivery.attempts + 1, delivered = excluded.delivered,
                last_attempt = excluded.last_attempt, last_error = excluded.last_error
            """, logger: logger)
    }

    public func alertDeliveries(incident id: Int64) async throws -> [AlertDelivery] {
        try await rows("SELECT * FROM \(unescaped: t("alert_delivery")) WHERE incident_id = \(id) ORDER BY target").map {
            AlertDelivery(target: try $0["target"].decode(String.self), attempts: try $0["attempts"].decode(Int.self), delivered: try $0["delivered"].decode(Bool.self),
                          lastAttempt: try Self.date($0["last_attempt"]), lastError: try $0["last_error"].decode(String?.self))
        }
    }
}
