#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A list's regular expression (squidGuard `expressions`), with the text every match of it must
/// contain, when there is such a text.
///
/// The expressions are POSIX extended regular expressions, as squidGuard compiles them (`regcomp`
/// with `REG_EXTENDED`; here always case-insensitive): UT1 writes its lists for squidGuard, so
/// its dialect is theirs. (Foundation's `NSRegularExpression` speaks ICU's, which reads some
/// lines differently, and compiling through it left ICU's expression code and about 1 MB of
/// heap in the running proxy.)
///
/// Most requests could never match an expression: UT1's malware expression needs `/search?q=`
/// in the URL. A byte search for that text first lets almost every request skip the expression
/// (the idea of RE2's prefilter, kept to the simplest, always-safe case: literal text outside any
/// group, with no `|` around it).
struct ListExpression: Sendable {
    let source: UInt32
    let pattern: String
    let regex: PosixExpression
    /// Lower-case ASCII bytes that any match contains; nil when none could be worked out.
    let required: [UInt8]?

    init(source: UInt32, pattern: String) throws(PosixExpression.Invalid) {
        self.source = source
        self.pattern = pattern
        self.regex = try PosixExpression(pattern)
        self.required = Self.requiredLiteral(of: pattern)
    }

    func matches(_ subject: String) -> Bool {
        if let required, !Self.contains(subject, required) { return false }
        return regex.matches(subject)
    }

    /// The longest run of plain characters outside groups and classes, three bytes or more, with
    /// characters made optional by `?`, `*` or `{` left out. Nil when the pattern has a `|` outside
    /// a group (the run would be required by one branch only) or anything that is not ASCII.
    static func requiredLiteral(of pattern: String) -> [UInt8]? {
        let bytes = Array(pattern.utf8)
        guard bytes.allSatisfy({ $0 < 0x80 }) else { return nil }
        var best: [UInt8] = []
        var run: [UInt8] = []
        var depth = 0
        var index = 0
        func endRun() {
            if run.count > best.count { best = run }
            run.removeAll()
        }
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if depth > 0 {
                switch byte {
                case UInt8(ascii: "\\"): index += 1
                case UInt8(ascii: "("): depth += 1
                case UInt8(ascii: ")"): depth -= 1
                case UInt8(ascii: "["):
                    guard let end = classEnd(bytes, from: index) else { return nil }
                    index = end
                default: break
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "|"):
                return nil
            case UInt8(ascii: "("):
                endRun()
                depth = 1
            case UInt8(ascii: "["):
                endRun()
                guard let end = classEnd(bytes, from: index) else { return nil }
                index = end
            case UInt8(ascii: "?"), UInt8(ascii: "*"), UInt8(ascii: "{"):
                // The unit before is optional: if it was the run's last character, it goes.
                if !run.isEmpty { run.removeLast() }
                endRun()
                if byte == UInt8(ascii: "{"), let close = bytes[index...].firstIndex(of: UInt8(ascii: "}")) { index = close + 1 }
            case UInt8(ascii: "+"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "$"), UInt8(ascii: ")"):
                endRun()
            case UInt8(ascii: "\\"):
                guard index < bytes.count else { return nil }
                let escaped = bytes[index]
                index += 1
                let isLetterOrDigit = (escaped | 0x20 >= UInt8(ascii: "a") && escaped | 0x20 <= UInt8(ascii: "z"))
                    || (escaped >= UInt8(ascii: "0") && escaped <= UInt8(ascii: "9"))
                if Self.gnuEscapes.contains(escaped) {
                    endRun()
                } else if !isLetterOrDigit {
                    run.append(escaped)
                } else {
                    // A back-reference (`\1`), or a letter whose meaning differs between
                    // dialects (`\d` is a digit to ICU and PCRE, not to glibc): no prefilter.
                    return nil
                }
            default:
                run.append(byte.asciiLowercased)
            }
        }
        guard depth == 0 else { return nil }
        endRun()
        return best.count >= 3 ? best : nil
    }

    /// glibc's escapes that stand for a class of characters (`\w`, `\s` and their opposites) or a
    /// position (`\b`, `\B`, `\<`, `\>`, `` \` ``, `\'`), not for the character after the backslash.
    private static let gnuEscapes = Set("wWsSbB<>`'".utf8)

    /// The index after the `]` that closes a bracket expression opened just before `from`, by
    /// POSIX's rules: a `]` first in it is one of its characters, and a backslash in it is only a
    /// backslash. Nil where it holds `[:class:]`, `[.x.]` or `[=x=]`, whose own `]` would end it
    /// early here: no prefilter then.
    private static func classEnd(_ bytes: [UInt8], from start: Int) -> Int? {
        var index = start
        if index < bytes.count, bytes[index] == UInt8(ascii: "^") { index += 1 }
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1 }
        while index < bytes.count, bytes[index] != UInt8(ascii: "]") {
            if bytes[index] == UInt8(ascii: "["), index + 1 < bytes.count, ":.=".utf8.contains(bytes[index + 1]) { return nil }
            index += 1
        }
        return index + 1
    }

    /// Whether `text` contains `needle`, ignoring ASCII case.
    static func contains(_ text: String, _ needle: [UInt8]) -> Bool {
        var text = text
        return text.withUTF8 { haystack in
            guard !needle.isEmpty, haystack.count >= needle.count else { return needle.isEmpty }
            let first = needle[0]
            outer: for start in 0...(haystack.count - needle.count) {
                guard haystack[start].asciiLowercased == first else { continue }
                for offset in 1..<needle.count where haystack[start + offset].asciiLowercased != needle[offset] { continue outer }
                return true
            }
            return false
        }
    }
}

/// A compiled POSIX expression. `regexec` may run on one compiled expression from several
/// threads at once (POSIX requires it to be thread-safe; glibc locks inside), hence `Sendable`.
final class PosixExpression: @unchecked Sendable {
    struct Invalid: Error, CustomStringConvertible {
        /// `regerror`'s words, e.g. "Unmatched ( or \(".
        var description: String
    }

    private let compiled: UnsafeMutablePointer<regex_t>

    init(_ pattern: String) throws(Invalid) {
        // Stored only once compiled: a class whose init throws after that runs its deinit.
        let compiled = UnsafeMutablePointer<regex_t>.allocate(capacity: 1)
        let status = regcomp(compiled, pattern, REG_EXTENDED | REG_ICASE | REG_NOSUB)
        guard status == 0 else {
            var words = [CChar](repeating: 0, count: 256)
            regerror(status, compiled, &words, words.count)
            compiled.deallocate()
            throw Invalid(description: String(decoding: words.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        self.compiled = compiled
    }

    deinit {
        regfree(compiled)
        compiled.deallocate()
    }

    func matches(_ subject: String) -> Bool {
        subject.withCString { regexec(compiled, $0, 0, nil, 0) == 0 }
    }
}
