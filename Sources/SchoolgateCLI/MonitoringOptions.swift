import ArgumentParser
import Foundation
import SchoolgateConfig
import SchoolgatePolicy
import SchoolgateStore
import Logging

/// `--config` and `--as`, and the store and audit trail every DSL command goes through.
struct MonitoringOptions: ParsableArguments {
    @OptionGroup var config: ConfigOptions
    @Option(name: .customLong("as"), help: "Who is acting, for the audit trail (default: the logged-in user).") var actor: String?
    @Flag(help: "Print JSON.") var json = false

    /// The person the audit trail names: `--as`, else the user behind sudo, else the login.
    var who: String {
        if let actor, !actor.isEmpty { return actor }
        let environment = ProcessInfo.processInfo.environment
        if let name = environment["SUDO_USER"] ?? environment["USER"] ?? environment["LOGNAME"], !name.isEmpty { return name }
        if let entry = getpwuid(getuid()), let name = entry.pointee.pw_name { return String(cString: name) }
        return "uid \(getuid())"
    }

    /// Only the config is read: the DSL's commands need the database, not the lists.
    func settings() throws -> PolicyConfig {
        do {
            let text = try String(contentsOfFile: config.path, encoding: .utf8)
            return try PolicyConfig(document: ConfigDocument(file: config.path, text: text))
        } catch let errors as ConfigErrors {
            printError("schoolgate: the configuration has problems:")
            for problem in errors.problems { printError("  \(problem)") }
            throw ExitCode(2)
        } catch {
            printError("schoolgate: \(config.path): cannot read the config file")
            throw ExitCode(2)
        }
    }

    func store() async throws -> (any MonitoringStore, PolicyConfig) {
        let settings = try settings()
        do {
            return (try await StoreOpener.open(settings.monitoring), settings)
        } catch {
            printError("schoolgate: \(error)")
            throw ExitCode(2)
        }
    }

    /// Writes the audit entry first: a view that cannot be audited is not shown.
    func audited(_ store: any MonitoringStore, action: String, detail: String) async throws {
        try await store.audit(AuditEntry(time: Date(), actor: who, action: action, detail: detail))
    }
}

/// Times on the command line: `7d`, `12h` (that long ago), `2026-11-01`, `2026-11-01 12:00`
/// (school time) or ISO 8601.
enum WhenArgument {
    static func parse(_ text: String, timeZone: TimeZone, now: Date = Date()) throws -> Date {
        let lowered = text.lowercased()
        for (suffix, unit) in [("d", 86_400.0), ("h", 3_600.0), ("m", 60.0)] where lowered.hasSuffix(suffix) {
            if let amount = Double(lowered.dropLast()) { return now - amount * unit }
        }
        let iso = ISO8601DateFormatter()
        if let date = iso.date(from: text) { return date }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_GB_POSIX")
        formatter.timeZone = timeZone
        for format in ["yyyy-MM-dd HH:mm", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd"] {
            formatter.dateFormat = format
            if let date = formatter.date(from: text) { return date }
        }
        throw ValidationError("'\(text)' is not a time: use 7d, 12h, 2026-11-01, '2026-11-01 12:00' or ISO 8601")
    }

    static func format(_ date: Date, timeZone: TimeZone) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_GB_POSIX")
        formatter.timeZone = timeZone
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.string(from: date)
    }
}

/// Fixed-width columns for the terminal.
func table(_ header: [String], _ rows: [[String]]) -> String {
    let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
    return ([header] + rows).map { row in
        row.enumerated().map { index, cell in
            index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
        }.joined(separator: "  ")
    }.joined(separator: "\n")
}

/// The store the config names: the SQLite file, or a trust's PostgreSQL database.
enum StoreOpener {
    static func open(_ monitoring: MonitoringSettings, logger: Logger = Logger(label: "schoolgate")) async throws -> any MonitoringStore {
        guard let postgres = monitoring.postgres else { return try SQLiteStore(path: monitoring.databasePath) }
        return try await PostgresStore(settings: .init(host: postgres.host, port: postgres.port, user: postgres.user, password: postgres.password,
                                                       database: postgres.database, schema: postgres.schema, requireTLS: postgres.requireTLS), logger: logger)
    }

    /// What the log and messages call it: the file, or the server and database (never a password).
    static func describe(_ monitoring: MonitoringSettings) -> String {
        monitoring.postgres.map { "postgres://\($0.user)@\($0.host):\($0.port)/\($0.database) (schema \($0.schema))" } ?? monitoring.databasePath
    }
}
