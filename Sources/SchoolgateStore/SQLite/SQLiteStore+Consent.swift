import Foundation
import GRDB
import SchoolgatePolicy

extension SQLiteStore {
    public func recordConsent(_ record: ConsentRecord) async throws -> Int64 {
        try await write { db in
            try db.execute(sql: "INSERT INTO consent (time, client, mac, name, terms_version, revoked) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [record.consentedAt.timeIntervalSince1970, record.client, record.mac, record.name,
                                       record.termsVersion, record.revokedAt?.timeIntervalSince1970])
            return db.lastInsertedRowID
        }
    }

    public func consents(since: Date?, limit: Int) async throws -> [ConsentRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM consent WHERE time >= ? ORDER BY time DESC, id DESC LIMIT ?",
                             arguments: [since?.timeIntervalSince1970 ?? -Double.greatestFiniteMagnitude, limit])
                .map { row in
                    ConsentRecord(id: row["id"], client: row["client"], mac: row["mac"], name: row["name"], termsVersion: row["terms_version"],
                                  consentedAt: Date(timeIntervalSince1970: row["time"]),
                                  revokedAt: (row["revoked"] as Double?).map(Date.init(timeIntervalSince1970:)))
                }
        }
    }

    public func revokeConsents(client: String?, by actor: String, at time: Date) async throws -> Int {
        try await write { db in
            if let client {
                try db.execute(sql: "UPDATE consent SET revoked = ? WHERE revoked IS NULL AND client = ?", arguments: [time.timeIntervalSince1970, client])
            } else {
                try db.execute(sql: "UPDATE consent SET revoked = ? WHERE revoked IS NULL", arguments: [time.timeIntervalSince1970])
            }
            let count = db.changesCount
            try Self.insertAudit(AuditEntry(time: time, actor: actor, action: "consent revoke",
                                            detail: "\(client ?? "every guest"): \(count) agreement(s) ended"), db: db)
            return count
        }
    }
}
