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
///
/// The row's eleven text fields are first copied into one buffer that is reused from row to row
/// and outlives the step, so SQLite reads them where they are (`SQLITE_STATIC`): bound as
/// transient, each field was a `malloc` and a `free` inside SQLite (3 % of the writer's CPU in
/// `StoreBenchmark 0 0 1000`, 7 December).
struct VisitInsert {
    static let sql = """
        INSERT INTO visit (time, subject, user, grp, client, method, host, sni, url, verdict, rule, category,
                           status, bytes_in, bytes_out, duration_ms)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """
    /// SQLite reads the text in place and keeps no pointer past the reset.
    private static let inPlace = unsafeBitCast(0, to: sqlite3_destructor_type.self)
    /// Columns 2 to 12 are the text fields, in this order.
    private static let firstTextColumn: Int32 = 2

    private let statement: Statement
    private let db: Database
    /// The current row's text, after a leading byte so that its address is never null (an empty
    /// string is then text of length 0, not NULL).
    private var text: [UInt8] = [0]
    /// Where each text field starts in `text`, and its length; nil for NULL.
    private var fields: [(start: Int, count: Int)?] = []

    /// Inside a write: the statement belongs to the writer's connection.
    init(_ db: Database) throws {
        self.db = db
        statement = try db.cachedStatement(sql: Self.sql)
        text.reserveCapacity(1_024)
        fields.reserveCapacity(11)
    }

    mutating func insert(_ visit: Visit) throws {
        text.removeSubrange(1...)
        fields.removeAll(keepingCapacity: true)
        func add(_ field: String?) {
            guard let field else { return fields.append(nil) }
            let start = text.count
            text.append(contentsOf: field.utf8)
            fields.append((start, text.count - start))
        }
        add(visit.subject); add(visit.user); add(visit.group); add(visit.client); add(visit.method); add(visit.host)
        add(visit.sni); add(visit.url); add(visit.verdict.rawValue); add(visit.rule.rawValue); add(visit.category)
        let raw = statement.sqliteStatement
        let spans = fields
        try text.withUnsafeBufferPointer { buffer in
            defer {
                sqlite3_reset(raw)
                sqlite3_clear_bindings(raw)
            }
            // The first failed bind is the one reported (a bind fails only on a misuse or no memory).
            var code = SQLITE_OK
            func keep(_ result: Int32) { if code == SQLITE_OK { code = result } }
            keep(sqlite3_bind_double(raw, 1, visit.time.timeIntervalSince1970))
            let base = UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self)
            for (offset, field) in spans.enumerated() {
                let column = Self.firstTextColumn + Int32(offset)
                if let field {
                    keep(sqlite3_bind_text(raw, column, base + field.start, Int32(field.count), Self.inPlace))
                } else {
                    keep(sqlite3_bind_null(raw, column))
                }
            }
            keep(sqlite3_bind_int64(raw, 13, Int64(visit.status)))
            keep(sqlite3_bind_int64(raw, 14, visit.bytesIn))
            keep(sqlite3_bind_int64(raw, 15, visit.bytesOut))
            keep(sqlite3_bind_int64(raw, 16, Int64(visit.durationMilliseconds)))
            guard code == SQLITE_OK else { throw failure(code) }
            let step = sqlite3_step(raw)
            guard step == SQLITE_DONE else { throw failure(step) }
        }
    }

    private func failure(_ code: Int32) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: code), message: db.lastErrorMessage, sql: Self.sql)
    }
}
