import GRDB
import GRDBSQLite
import SchoolgatePolicy

/// The one statement the writer runs thousands of times a second, bound column by column.
///
/// GRDB's `execute(arguments:)` takes the row as an array of `DatabaseValueConvertible?`
/// existentials and converts each to a `DatabaseValue` before binding it: a profile of the proxy
/// logging flat out showed that as much writer CPU went into building and unboxing those
/// arguments as into SQLite itself. This binds each field straight from the `Visit`, on GRDB's
/// own cached statement, and leaves the statement reset and cleared as GRDB expects it.
struct VisitInsert {
    static let sql = """
        INSERT INTO visit (time, subject, user, grp, client, method, host, sni, url, verdict, rule, category,
                           status, bytes_in, bytes_out, duration_ms)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """
    /// SQLite copies the text before the bind returns: the Swift string need not outlive it.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    private let statement: Statement
    private let db: Database

    /// Inside a write: the statement belongs to the writer's connection.
    init(_ db: Database) throws {
        self.db = db
        statement = try db.cachedStatement(sql: Self.sql)
    }

    func insert(_ visit: Visit) throws {
        let raw = statement.sqliteStatement
        defer {
            sqlite3_reset(raw)
            sqlite3_clear_bindings(raw)
        }
        // The first failed bind is the one reported (a bind fails only on a misuse or no memory).
        var code = SQLITE_OK
        func keep(_ result: Int32) { if code == SQLITE_OK { code = result } }
        keep(sqlite3_bind_double(raw, 1, visit.time.timeIntervalSince1970))
        keep(bind(visit.subject, at: 2))
        keep(bind(visit.user, at: 3))
        keep(bind(visit.group, at: 4))
        keep(bind(visit.client, at: 5))
        keep(bind(visit.method, at: 6))
        keep(bind(visit.host, at: 7))
        keep(bind(visit.sni, at: 8))
        keep(bind(visit.url, at: 9))
        keep(bind(visit.verdict.rawValue, at: 10))
        keep(bind(visit.rule.rawValue, at: 11))
        keep(bind(visit.category, at: 12))
        keep(sqlite3_bind_int64(raw, 13, Int64(visit.status)))
        keep(sqlite3_bind_int64(raw, 14, visit.bytesIn))
        keep(sqlite3_bind_int64(raw, 15, visit.bytesOut))
        keep(sqlite3_bind_int64(raw, 16, Int64(visit.durationMilliseconds)))
        guard code == SQLITE_OK else { throw failure(code) }
        let step = sqlite3_step(raw)
        guard step == SQLITE_DONE else { throw failure(step) }
    }

    private func bind(_ text: String?, at index: Int32) -> Int32 {
        guard var text else { return sqlite3_bind_null(statement.sqliteStatement, index) }
        return text.withUTF8 { bytes in
            // A zero-length buffer may have no address; SQLite takes a null pointer as NULL,
            // so an empty string is bound from a literal instead.
            guard let base = bytes.baseAddress else { return sqlite3_bind_text(statement.sqliteStatement, index, "", 0, Self.transient) }
            return base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                sqlite3_bind_text(statement.sqliteStatement, index, $0, Int32(bytes.count), Self.transient)
            }
        }
    }

    private func failure(_ code: Int32) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: code), message: db.lastErrorMessage, sql: Self.sql)
    }
}
