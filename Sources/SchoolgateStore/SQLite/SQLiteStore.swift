import CSQLiteSettings
import Foundation
import GRDB
import NIOPosix
import SchoolgatePolicy
#if canImport(Glibc)
import Glibc
#endif

/// The embedded store: one SQLite file in WAL mode, through GRDB.
///
/// WAL lets the DSL's CLI read while the proxy writes. `synchronous = NORMAL` in WAL mode loses
/// no committed transaction when the process dies (only on power loss can the last ones go); the
/// file is created readable by its owner only, since it holds children's browsing.
public final class SQLiteStore: MonitoringStore {
    let pool: DatabasePool
    public let path: String
    /// Batches are written on threads of their own, below the proxy's CPU priority: where the
    /// proxy and the writer share a busy core, a request that arrives mid-batch is served first.
    /// Background batches have a thread at SCHED_IDLE, prompt ones a thread at nice 5
    /// (`WriterPriority`). Two threads, each set once, because an unprivileged thread may enter
    /// SCHED_IDLE but not leave it (Linux asks for CAP_SYS_NICE or an RLIMIT_NICE allowance). GRDB
    /// runs a synchronous write on the calling thread, so the SQLite work happens there; the
    /// writer sends one batch at a time, so the two never wait on each other.
    private let backgroundThread = NIOThreadPool(numberOfThreads: 1)
    private let promptThread = NIOThreadPool(numberOfThreads: 1)
    let backgroundYield: BackgroundBatchYield

    public convenience init(path: String) throws {
        try self.init(path: path, backgroundPriority: .idle)
    }

    /// The arguments are for tests. Where the whole suite keeps every core busy a SCHED_IDLE
    /// batch may not start for a minute, or finish within `starvedAfter`; `beforeBackgroundInsert`
    /// can hold a batch mid-write.
    init(path: String, backgroundPriority: WriterPriority, starvedAfter: Duration = BackgroundBatchYield.defaultStarvedAfter,
         beforeBackgroundInsert: (@Sendable () -> Void)? = nil) throws {
        backgroundYield = BackgroundBatchYield(starvedAfter: starvedAfter, beforeInsert: beforeBackgroundInsert)
        self.path = path
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty, !FileManager.default.fileExists(atPath: directory) {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        if !FileManager.default.fileExists(atPath: path) {
            // Created before SQLite opens it: SQLite gives the -wal and -shm files the same mode.
            guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw StoreError("\(path): cannot create the database file")
            }
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            guard !db.configuration.readonly else { return }
            // The writer only. Each visit lands in its user's part of the (subject, time) index,
            // so a batch touches a page per active user: SQLite's default 2 MB cache kept
            // reading those pages back from the file, and the default checkpoint (every 4 MB of
            // WAL) copied them to the database after almost every batch. With 8 MB and a 32 MB
            // WAL between checkpoints, 1,000 users' visits cost a third less CPU (StoreBenchmark).
            try db.execute(sql: "PRAGMA cache_size = -8192")
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 8192")
        }
        for (thread, priority) in [(backgroundThread, backgroundPriority), (promptThread, .nice5)] {
            thread.start()
            thread.submit { _ in priority.apply() }
        }
        do {
            _ = Self.memoryStatisticsOff
            pool = try DatabasePool(path: path, configuration: configuration)
            try Self.migrator.migrate(pool)
        } catch {
            throw StoreError("\(path): \(error)")
        }
    }

    /// SQLite counts every allocation it makes, for `sqlite3_memory_used`, behind a process-wide
    /// mutex: a lock and an unlock for each of the many allocations a visit's insert makes (4 % of
    /// the writer's CPU in `StoreBenchmark 0 0 1000`, 7 December). Nothing here asks for the
    /// figures. The setting is only taken before SQLite's first use in the process, so the store
    /// makes it before opening its first database; after that SQLite refuses it and nothing
    /// changes (false).
    static let memoryStatisticsOff = schoolgate_sqlite_disable_memory_statistics() == 0

    deinit {
        backgroundThread.shutdownGracefully { _ in }
        promptThread.shutdownGracefully { _ in }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE visit (
                    id INTEGER PRIMARY KEY, time REAL NOT NULL, subject TEXT NOT NULL, user TEXT, grp TEXT NOT NULL,
                    client TEXT NOT NULL, method TEXT NOT NULL, host TEXT NOT NULL, sni TEXT, url TEXT,
                    verdict TEXT NOT NULL, rule TEXT NOT NULL, category TEXT, status INTEGER NOT NULL,
                    bytes_in INTEGER NOT NULL, bytes_out INTEGER NOT NULL, duration_ms INTEGER NOT NULL);
                CREATE INDEX visit_subject_time ON visit(subject, time);
                CREATE INDEX visit_time ON visit(time);
                CREATE TABLE incident (
                    id INTEGER PRIMARY KEY, created REAL NOT NULL, last_seen REAL NOT NULL, subject TEXT NOT NULL,
                    grp TEXT NOT NULL, client TEXT NOT NULL, category TEXT NOT NULL, severity INTEGER NOT NULL,
                    site TEXT NOT NULL, count INTEGER NOT NULL, status TEXT NOT NULL, assignee TEXT,
                    escalated_to TEXT, outcome TEXT);
                CREATE INDEX incident_fold ON incident(subject, site, category, status, last_seen);
                CREATE INDEX incident_listing ON incident(severity, last_seen);
                CREATE TABLE incident_note (
                    id INTEGER PRIMARY KEY, incident_id INTEGER NOT NULL REFERENCES incident(id) ON DELETE CASCADE,
                    time REAL NOT NULL, author TEXT NOT NULL, text TEXT NOT NULL);
                CREATE INDEX incident_note_incident ON incident_note(incident_id);
                CREATE TABLE audit (
                    id INTEGER PRIMARY KEY, time REAL NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, detail TEXT NOT NULL);
                CREATE INDEX audit_time ON audit(time);
                """)
        }
        migrator.registerMigration("v2 alert deliveries") { db in
            try db.execute(sql: """
                CREATE TABLE alert_delivery (
                    incident_id INTEGER NOT NULL REFERENCES incident(id) ON DELETE CASCADE, target TEXT NOT NULL,
                    attempts INTEGER NOT NULL, delivered INTEGER NOT NULL, last_attempt REAL NOT NULL, last_error TEXT,
                    PRIMARY KEY (incident_id, target));
                CREATE INDEX incident_created ON incident(created);
                """)
        }
        migrator.registerMigration("v3 guest consents") { db in
            try db.execute(sql: """
                CREATE TABLE consent (
                    id INTEGER PRIMARY KEY, time REAL NOT NULL, client TEXT NOT NULL, mac TEXT, name TEXT,
                    terms_version TEXT NOT NULL, revoked REAL);
                CREATE INDEX consent_time ON consent(time);
                CREATE INDEX consent_client ON consent(client, time);
                """)
        }
        migrator.registerMigration("v4 local overrides") { db in
            try db.execute(sql: """
                CREATE TABLE override (
                    id INTEGER PRIMARY KEY, host TEXT NOT NULL, action TEXT NOT NULL, grp TEXT, category TEXT, reason TEXT NOT NULL,
                    actor TEXT NOT NULL, created REAL NOT NULL, expires REAL, removed REAL);
                """)
        }
        return migrator
    }

    // MARK: Writing

    @discardableResult
    public func record(visits: [Visit], sightings: [IncidentSighting], foldWindow: TimeInterval, urgency: BatchUrgency) async throws -> [Int64] {
        if urgency == .prompt { backgroundYield.request() }
        return try await (urgency == .background ? backgroundThread : promptThread).runIfActive {
            try self.recordNow(visits: visits, sightings: sightings, foldWindow: foldWindow, urgency: urgency)
        }
    }

    public func yieldBackgroundBatch() {
        backgroundYield.request()
    }

    /// Every write but a batch's: a background batch starved of CPU gives way to it rather than
    /// keep a guest's agreement or a DSL's action waiting.
    func write<T: Sendable>(_ updates: @escaping @Sendable (Database) throws -> T) async throws -> T {
        backgroundYield.request()
        return try await pool.write(updates)
    }

    #if os(Linux)
    /// The scheduling class and nice value of the thread that writes batches of this urgency.
    func schedulingOfBatches(_ urgency: BatchUrgency) async throws -> (policy: Int32, nice: Int32) {
        try await (urgency == .background ? backgroundThread : promptThread).runIfActive {
            (sched_getscheduler(0), getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0))
        }
    }
    #endif

    /// A background batch gives way to anything urgent (`BackgroundBatchYield`); a prompt one
    /// hands the core back now and then (`WriterPriority.handBackTheCore`).
    private func recordNow(visits: [Visit], sightings: [IncidentSighting], foldWindow: TimeInterval, urgency: BatchUrgency) throws -> [Int64] {
        try pool.write { db in
            var insert = try VisitInsert(db)
            func insertAll(_ giveWayIfDue: () throws -> Void) throws {
                for (index, visit) in visits.enumerated() {
                    try giveWayIfDue()
                    try insert.insert(visit)
                    if urgency == .prompt, index % WriterPriority.insertsBetweenYields == WriterPriority.insertsBetweenYields - 1 {
                        WriterPriority.handBackTheCore()
                    }
                }
            }
            if urgency == .background { try self.backgroundYield.writing(insertAll) } else { try insertAll {} }
            return try sightings.map { try Self.fold($0, window: foldWindow, db: db) }
        }
    }

    /// Adds a sighting to the open incident it repeats, or opens a new one.
    private static func fold(_ sighting: IncidentSighting, window: TimeInterval, db: Database) throws -> Int64 {
        let time = sighting.time.timeIntervalSince1970
        if let row = try Row.fetchOne(db, sql: """
            SELECT id, severity FROM incident
            WHERE subject = ? AND site = ? AND category = ? AND status != 'closed' AND last_seen >= ?
            ORDER BY last_seen DESC LIMIT 1
            """, arguments: [sighting.subject, sighting.site, sighting.category, time - window]) {
            let id: Int64 = row["id"]
            let severity = max(row["severity"] as Int, rank(sighting.severity))
            try db.execute(sql: "UPDATE incident SET count = count + 1, last_seen = MAX(last_seen, ?), severity = ? WHERE id = ?",
                           arguments: [time, severity, id])
            return id
        }
        try db.execute(sql: """
            INSERT INTO incident (created, last_seen, subject, grp, client, category, severity, site, count, status)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, 'new')
            """, arguments: [time, time, sighting.subject, sighting.group, sighting.client, sighting.category,
                             rank(sighting.severity), sighting.site])
        return db.lastInsertedRowID
    }

    public func update(incident id: Int64, _ action: IncidentAction, by actor: String, at time: Date) async throws -> Incident {
        try await write { db in
            guard let incident = try Self.fetchIncident(id: id, db: db) else { throw StoreError("no incident \(id)") }
            let updated: Incident
            switch action.apply(to: incident, by: actor, at: time) {
            case .success(let result): updated = result
            case .failure(let error): throw StoreError(error.message)
            }
            try db.execute(sql: "UPDATE incident SET status = ?, assignee = ?, escalated_to = ?, outcome = ? WHERE id = ?",
                           arguments: [updated.status.rawValue, updated.assignee, updated.escalatedTo, updated.outcome, id])
            if case .note(let text) = action {
                try db.execute(sql: "INSERT INTO incident_note (incident_id, time, author, text) VALUES (?, ?, ?, ?)",
                               arguments: [id, time.timeIntervalSince1970, actor, text])
            }
            try Self.insertAudit(AuditEntry(time: time, actor: actor, action: "incident \(action.name)", detail: IncidentAction.describe(action, id: id)), db: db)
            return updated
        }
    }

    public func audit(_ entry: AuditEntry) async throws {
        try await write { db in try Self.insertAudit(entry, db: db) }
    }

    static func insertAudit(_ entry: AuditEntry, db: Database) throws {
        try db.execute(sql: "INSERT INTO audit (time, actor, action, detail) VALUES (?, ?, ?, ?)",
                       arguments: [entry.time.timeIntervalSince1970, entry.actor, entry.action, entry.detail])
    }

    public func purge(visitsBefore: Date, incidentsBefore: Date, auditBefore: Date) async throws -> PurgeResult {
        try await write { db in
            try db.execute(sql: "DELETE FROM visit WHERE time < ?", arguments: [visitsBefore.timeIntervalSince1970])
            let visits = db.changesCount
            // A guest's agreement is kept as long as the visits it covered, no longer.
            try db.execute(sql: "DELETE FROM consent WHERE time < ?", arguments: [visitsBefore.timeIntervalSince1970])
            for table in ["incident_note", "alert_delivery"] {
                try db.execute(sql: "DELETE FROM \(table) WHERE incident_id IN (SELECT id FROM incident WHERE status = 'closed' AND last_seen < ?)",
                               arguments: [incidentsBefore.timeIntervalSince1970])
            }
            try db.execute(sql: "DELETE FROM incident WHERE status = 'closed' AND last_seen < ?", arguments: [incidentsBefore.timeIntervalSince1970])
            let incidents = db.changesCount
            try db.execute(sql: "DELETE FROM audit WHERE time < ?", arguments: [auditBefore.timeIntervalSince1970])
            return PurgeResult(visits: visits, incidents: incidents, auditEntries: db.changesCount)
        }
    }

    public func incidentsAwaitingAlert(target: String, minimumSeverity: Severity, since: Date, maxAttempts: Int, retryBefore: Date) async throws -> [Incident] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT incident.* FROM incident
                LEFT JOIN alert_delivery ON alert_delivery.incident_id = incident.id AND alert_delivery.target = ?
                WHERE incident.severity >= ? AND incident.created >= ?
                  AND (alert_delivery.incident_id IS NULL
                       OR (alert_delivery.delivered = 0 AND alert_delivery.attempts < ? AND alert_delivery.last_attempt < ?))
                ORDER BY incident.id LIMIT 100
                """, arguments: [target, Self.rank(minimumSeverity), since.timeIntervalSince1970, maxAttempts, retryBefore.timeIntervalSince1970])
                .map { try Self.incident(from: $0, db: db) }
        }
    }

    public func recordAlertAttempt(incident id: Int64, target: String, delivered: Bool, error: String?, at time: Date) async throws {
        try await write { db in
            try db.execute(sql: """
                INSERT INTO alert_delivery (incident_id, target, attempts, delivered, last_attempt, last_error) VALUES (?, ?, 1, ?, ?, ?)
                ON CONFLICT (incident_id, target) DO UPDATE SET attempts = attempts + 1, delivered = excluded.delivered,
                    last_attempt = excluded.last_attempt, last_error = excluded.last_error
                """, arguments: [id, target, delivered, time.timeIntervalSince1970, error])
        }
    }

    public func alertDeliveries(incident id: Int64) async throws -> [AlertDelivery] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM alert_delivery WHERE incident_id = ? ORDER BY target", arguments: [id]).map {
                AlertDelivery(target: $0["target"], attempts: $0["attempts"], delivered: $0["delivered"],
                              lastAttempt: Date(timeIntervalSince1970: $0["last_attempt"]), lastError: $0["last_error"])
            }
        }
    }

    /// SQLite's own check of the file: "ok" when it is sound.
    public func integrityCheck() async throws -> String {
        try await pool.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "; ") }
    }

    // MARK: Reading

    public func incidents(_ query: IncidentQuery) async throws -> [Incident] {
        try await pool.read { db in
            var clauses: [String] = []
            var arguments: [any DatabaseValueConvertible] = []
            if let statuses = query.statuses, !statuses.isEmpty {
                clauses.append("status IN (\(statuses.map { _ in "?" }.joined(separator: ",")))")
                arguments += statuses.map(\.rawValue)
            }
            if let minimum = query.minimumSeverity {
                clauses.append("severity >= ?")
                arguments.append(Self.rank(minimum))
            }
            if let subject = query.subject {
                clauses.append("subject = ?")
                arguments.append(subject)
            }
            if let since = query.since {
                clauses.append("last_seen >= ?")
                arguments.append(since.timeIntervalSince1970)
            }
            let filter = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM incident \(filter) ORDER BY severity DESC, last_seen DESC LIMIT ?",
                                        arguments: StatementArguments(arguments + [query.limit]))
            return try rows.map { try Self.incident(from: $0, db: db) }
        }
    }

    public func incident(id: Int64) async throws -> Incident? {
        try await pool.read { db in try Self.fetchIncident(id: id, db: db) }
    }

    private static func fetchIncident(id: Int64, db: Database) throws -> Incident? {
        try Row.fetchOne(db, sql: "SELECT * FROM incident WHERE id = ?", arguments: [id]).map { try incident(from: $0, db: db) }
    }

    private static func incident(from row: Row, db: Database) throws -> Incident {
        let id: Int64 = row["id"]
        let notes = try Row.fetchAll(db, sql: "SELECT time, author, text FROM incident_note WHERE incident_id = ? ORDER BY id", arguments: [id])
            .map { Incident.Note(time: Date(timeIntervalSince1970: $0["time"]), author: $0["author"], text: $0["text"]) }
        return Incident(
            id: id, created: Date(timeIntervalSince1970: row["created"]), lastSeen: Date(timeIntervalSince1970: row["last_seen"]),
            subject: row["subject"], group: row["grp"], client: row["client"], category: row["category"],
            severity: Severity.allCases[min(3, max(0, row["severity"] as Int))], site: row["site"], count: row["count"],
            status: Incident.Status(rawValue: row["status"]) ?? .new, assignee: row["assignee"], escalatedTo: row["escalated_to"],
            outcome: row["outcome"], notes: notes)
    }

    public func visits(subject: String?, from: Date?, to: Date?, limit: Int) async throws -> [Visit] {
        try await pool.read { db in
            var clauses: [String] = []
            var arguments: [any DatabaseValueConvertible] = []
            if let subject {
                clauses.append("subject = ?")
                arguments.append(subject)
            }
            if let from {
                clauses.append("time >= ?")
                arguments.append(from.timeIntervalSince1970)
            }
            if let to {
                clauses.append("time <= ?")
                arguments.append(to.timeIntervalSince1970)
            }
            let filter = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
            return try Row.fetchAll(db, sql: "SELECT * FROM visit \(filter) ORDER BY time LIMIT ?", arguments: StatementArguments(arguments + [limit]))
                .map { row in
                    Visit(time: Date(timeIntervalSince1970: row["time"]), user: row["user"], group: row["grp"], client: row["client"],
                          method: row["method"], host: row["host"], sni: row["sni"], url: row["url"],
                          verdict: Decision.Verdict(rawValue: row["verdict"]) ?? .allow, rule: Decision.Rule(rawValue: row["rule"]) ?? .defaultAllow,
                          category: row["category"], status: row["status"], bytesIn: row["bytes_in"], bytesOut: row["bytes_out"],
                          durationMilliseconds: row["duration_ms"])
                }
        }
    }

    public func auditTrail(since: Date?, limit: Int) async throws -> [AuditEntry] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM audit WHERE time >= ? ORDER BY id DESC LIMIT ?",
                             arguments: [since?.timeIntervalSince1970 ?? 0, limit])
                .map { AuditEntry(time: Date(timeIntervalSince1970: $0["time"]), actor: $0["actor"], action: $0["action"], detail: $0["detail"]) }
        }
    }

    static func rank(_ severity: Severity) -> Int { Severity.allCases.firstIndex(of: severity)! }
}
