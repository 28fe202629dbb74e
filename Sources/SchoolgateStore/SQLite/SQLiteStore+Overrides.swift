import Foundation
import GRDB
import SchoolgatePolicy

extension SQLiteStore {
    public func addOverride(_ override: PolicyOverride) async throws -> Int64 {
        try await write { db in
            try db.execute(sql: """
                INSERT INTO override (host, action, grp, category, reason, actor, created, expires) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [override.host, override.action.rawValue, override.group, override.category, override.reason, override.actor,
                                 override.created.timeIntervalSince1970, override.expires?.timeIntervalSince1970])
            let id = db.lastInsertedRowID
            try Self.insertAudit(AuditEntry(time: override.created, actor: override.actor, action: "override \(override.action.rawValue)",
                                            detail: override.auditDetail(id: id)), db: db)
            return id
        }
    }

    public func overrides(at time: Date, includingEnded: Bool) async throws -> [PolicyOverride] {
        try await pool.read { db in
            let rows = includingEnded
                ? try Row.fetchAll(db, sql: "SELECT * FROM override ORDER BY created DESC, id DESC")
                : try Row.fetchAll(db, sql: "SELECT * FROM override WHERE removed IS NULL AND created <= ? AND (expires IS NULL OR expires > ?) ORDER BY id",
                                   arguments: [time.timeIntervalSince1970, time.timeIntervalSince1970])
            return rows.map(Self.override(from:))
        }
    }

    public func removeOverride(id: Int64, by actor: String, at time: Date) async throws -> PolicyOverride {
        try await write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM override WHERE id = ?", arguments: [id]) else {
                throw StoreError("no override #\(id)")
            }
            var override = Self.override(from: row)
            guard override.isActive(at: time) else { throw StoreError("override #\(id) has already ended") }
            try db.execute(sql: "UPDATE override SET removed = ? WHERE id = ?", arguments: [time.timeIntervalSince1970, id])
            override.removed = time
            try Self.insertAudit(AuditEntry(time: time, actor: actor, action: "override remove", detail: "#\(id) \(override.host)"), db: db)
            return override
        }
    }

    static func override(from row: Row) -> PolicyOverride {
        PolicyOverride(id: row["id"], host: row["host"], action: PolicyOverride.Action(rawValue: row["action"]) ?? .block, group: row["grp"],
                       category: row["category"], reason: row["reason"], actor: row["actor"], created: Date(timeIntervalSince1970: row["created"]),
                       expires: (row["expires"] as Double?).map(Date.init(timeIntervalSince1970:)),
                       removed: (row["removed"] as Double?).map(Date.init(timeIntervalSince1970:)))
    }
}
