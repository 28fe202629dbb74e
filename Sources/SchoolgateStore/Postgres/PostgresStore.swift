import Foundation
import Logging
import PostgresNIO
import SchoolgatePolicy

/// The store on PostgreSQL, for trusts whose schools share one record: several `serve`
/// instances write visits, incidents, consents and the audit trail to the same database, and
/// the DSL's commands read them from any site. The same narrow protocol as `SQLiteStore`;
/// times are seconds since 1970, as there, so both answer alike.
public final class PostgresStore: MonitoringStore {
    let client: PostgresClient
    /// Tables live in this schema (one per school, or one shared by a trust).
    let schema: String
    let logger: Logger
    private let running: Task<Void, Never>

    public struct Settings: Sendable {
        public var host: String
        public var port: Int
        public var user: String
        public var password: String?
        public var database: String
        public var schema: String
        public var requireTLS: Bool

        public init(host: String, port: Int = 5432, user: String, password: String?, database: String, schema: String = "schoolgate", requireTLS: Bool = false) {
            self.host = host
            self.port = port
            self.user = user
            self.password = password
            self.database = database
            self.schema = schema
            self.requireTLS = requireTLS
        }
    }

    public init(settings: Settings, logger: Logger) async throws {
        guard settings.schema.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") }), !settings.schema.isEmpty else {
            throw StoreError("PostgreSQL schema names use a-z, 0-9 and '_'")
        }
        let tls: PostgresClient.Configuration.TLS = settings.requireTLS ? .require(.makeClientConfiguration()) : .disable
        let configuration = PostgresClient.Configuration(host: settings.host, port: settings.port, username: settings.user, password: settings.password,
                                                         database: settings.database, tls: tls)
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        self.schema = settings.schema
        self.logger = logger
        running = Task { await client.run() }
        do {
            try await migrate()
        } catch {
            running.cancel()
            throw StoreError("PostgreSQL \(settings.host):\(settings.port)/\(settings.database): \(String(reflecting: error))")
        }
    }

    deinit { running.cancel() }

    /// A transaction whose own errors (an illegal workflow step, a missing id) reach the caller
    /// as they were thrown, not wrapped in the driver's transaction error.
    func transaction<Result: Sendable>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        do {
            return try await client.withTransaction(logger: logger) { connection in try await body(connection) }
        } catch let error as PostgresTransactionError {
            throw error.closureError ?? error
        }
    }

    /// A table's name, qualified by the schema.
    func t(_ name: String) -> String { "\"\(schema)\".\(name)" }

    private func migrate() async throws {
        _ = try await client.withTransaction(logger: logger) { connection in
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \"\(schema)\""), logger: logger)
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE TABLE IF NOT EXISTS \(t("migration")) (name TEXT PRIMARY KEY)"), logger: logger)
            // One transaction per start: two instances starting together take turns here.
            try await connection.query(PostgresQuery(unsafeSQL: "LOCK TABLE \(t("migration")) IN EXCLUSIVE MODE"), logger: logger)
            var done: Set<String> = []
            for try await name in try await connection.query(PostgresQuery(unsafeSQL: "SELECT name FROM \(t("migration"))"), logger: logger).decode(String.self) {
                done.insert(name)
            }
            for (name, sql) in PostgresSchema.migrations(t) where !done.contains(name) {
                for statement in sql { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
                try await connection.query("INSERT INTO \(unescaped: t("migration")) (name) VALUES (\(name))", logger: logger)
            }
        }
    }

    static func rank(_ severity: Severity) -> Int { Severity.allCases.firstIndex(of: severity)! }

    /// SQL with `$n` placeholders built alongside its values, for queries whose filters vary.
    struct Statement {
        var sql = ""
        var binds = PostgresBindings()

        mutating func bind<Value: PostgresThrowingDynamicTypeEncodable>(_ value: Value?) throws -> String {
            if let value { try binds.append(value) } else { binds.appendNull() }
            return "$\(binds.count)"
        }

        var query: PostgresQuery { PostgresQuery(unsafeSQL: sql, binds: binds) }
    }

    static func date(_ cell: PostgresCell) throws -> Date { Date(timeIntervalSince1970: try cell.decode(Double.self)) }
    static func optionalDate(_ cell: PostgresCell) throws -> Date? { try cell.decode(Double?.self).map(Date.init(timeIntervalSince1970:)) }

    func rows(_ query: PostgresQuery, on connection: PostgresConnection? = nil) async throws -> [PostgresRandomAccessRow] {
        var result: [PostgresRandomAccessRow] = []
        let sequence = if let connection { try await connection.query(query, logger: logger) } else { try await client.query(query, logger: logger) }
        for try await row in sequence { result.append(row.makeRandomAccess()) }
        return result
    }

    @discardableResult
    func execute(_ query: PostgresQuery, on connection: PostgresConnection) async throws -> Int {
        var count = 0
        for try await _ in try await connection.query(query, logger: logger) { count += 1 }
        return count
    }

    func insertAudit(_ entry: AuditEntry, on connection: PostgresConnection) async throws {
        try await connection.query("""
            INSERT INTO \(unescaped: t("audit")) (time, actor, action, detail)
            VALUES (\(entry.time.timeIntervalSince1970), \(entry.actor), \(entry.action), \(entry.detail))
            """, logger: logger)
    }

    public func audit(_ entry: AuditEntry) async throws {
        try await transaction { connection in try await self.insertAudit(entry, on: connection) }
    }

    public func auditTrail(since: Date?, limit: Int) async throws -> [AuditEntry] {
        try await rows("SELECT * FROM \(unescaped: t("audit")) WHERE time >= \(since?.timeIntervalSince1970 ?? 0) ORDER BY id DESC LIMIT \(limit)").map {
            AuditEntry(time: try Self.date($0["time"]), actor: try $0["actor"].decode(String.self), action: try $0["action"].decode(String.self),
                       detail: try $0["detail"].decode(String.self))
        }
    }
}

/// The tables, as SQLite has them (ids are BIGSERIAL, times DOUBLE PRECISION seconds).
enum PostgresSchema {
    static func migrations(_ t: (String) -> String) -> [(String, [String])] {
        [("v1", [
            """
            CREATE TABLE \(t("visit")) (
                id BIGSERIAL PRIMARY KEY, time DOUBLE PRECISION NOT NULL, subject TEXT NOT NULL, "user" TEXT, grp TEXT NOT NULL,
                client TEXT NOT NULL, method TEXT NOT NULL, host TEXT NOT NULL, sni TEXT, url TEXT, verdict TEXT NOT NULL, rule TEXT NOT NULL,
                category TEXT, status INTEGER NOT NULL, bytes_in BIGINT NOT NULL, bytes_out BIGINT NOT NULL, duration_ms BIGINT NOT NULL)
            """,
            "CREATE INDEX ON \(t("visit")) (subject, time)",
            "CREATE INDEX ON \(t("visit")) (time)",
            """
            CREATE TABLE \(t("incident")) (
                id BIGSERIAL PRIMARY KEY, created DOUBLE PRECISION NOT NULL, last_seen DOUBLE PRECISION NOT NULL, subject TEXT NOT NULL,
                grp TEXT NOT NULL, client TEXT NOT NULL, category TEXT NOT NULL, severity INTEGER NOT NULL, site TEXT NOT NULL,
                count BIGINT NOT NULL, status TEXT NOT NULL, assignee TEXT, escalated_to TEXT, outcome TEXT)
            """,
            "CREATE INDEX ON \(t("incident")) (subject, site, category, status, last_seen)",
            "CREATE INDEX ON \(t("incident")) (severity, last_seen)",
            "CREATE INDEX ON \(t("incident")) (created)",
            """
            CREATE TABLE \(t("incident_note")) (
                id BIGSERIAL PRIMARY KEY, incident_id BIGINT NOT NULL REFERENCES \(t("incident"))(id) ON DELETE CASCADE,
                time DOUBLE PRECISION NOT NULL, author TEXT NOT NULL, text TEXT NOT NULL)
            """,
            """
            CREATE TABLE \(t("audit")) (
                id BIGSERIAL PRIMARY KEY, time DOUBLE PRECISION NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, detail TEXT NOT NULL)
            """,
            "CREATE INDEX ON \(t("audit")) (time)",
            """
            CREATE TABLE \(t("alert_delivery")) (
                incident_id BIGINT NOT NULL REFERENCES \(t("incident"))(id) ON DELETE CASCADE, target TEXT NOT NULL,
                attempts INTEGER NOT NULL, delivered BOOLEAN NOT NULL, last_attempt DOUBLE PRECISION NOT NULL, last_error TEXT,
                PRIMARY KEY (incident_id, target))
            """,
            """
            CREATE TABLE \(t("consent")) (
                id BIGSERIAL PRIMARY KEY, time DOUBLE PRECISION NOT NULL, client TEXT NOT NULL, mac TEXT, name TEXT,
                terms_version TEXT NOT NULL, revoked DOUBLE PRECISION)
            """,
            "CREATE INDEX ON \(t("consent")) (client, time)",
            """
            CREATE TABLE \(t("override")) (
                id BIGSERIAL PRIMARY KEY, host TEXT NOT NULL, action TEXT NOT NULL, grp TEXT, category TEXT, reason TEXT NOT NULL,
                actor TEXT NOT NULL, created DOUBLE PRECISION NOT NULL, expires DOUBLE PRECISION, removed DOUBLE PRECISION)
            """,
        ])]
    }
}

extension PostgresStore {
    /// Removes this store's schema and everything in it (tests, and a trust retiring a site).
    public func dropSchema() async throws {
        try await client.query(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \"\(schema)\" CASCADE"), logger: logger)
    }
}
