import Foundation

/// A list's regular expression (squidGuard `expressions`), with the text every match of it must
/// contain, when there is such a text.
///
/// Running an expression through Foundation costs microseconds, and most requests could never
/// match it: UT1's malware expression needs `/search?q=` in the URL. A byte search for that
/// text first lets almost every request skip the expression (the idea of RE2's prefilter, kept
/// to the simplest, always-safe case: literal text outside any group, with no `|` around it).
struct ListExpression: Sendable {
    let source: UInt32
    let pattern: String
    let regex: NSRegularExpression
    /// Lower-case ASCII bytes that any match contains; nil when none could be worked out.
    let required: [UInt8]?

    init(source: UInt32, pattern: String) throws {
        self.source = source
        self.pattern = pattern
        self.regex = try NSRegularExpression(pattern: pattern, options: [.caseInsensitive])
        self.required = Self.requiredLiteral(of: pattern)
    }

    func matches(_ subject: String) -> Bool {
        if let required, !Self.contains(subject, required) { return false }
        return regex.firstMatch(in: subject, range: NSRange(subject.startIndex..., in: subject)) != nil
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
            // Inline flags and comments (`(?x)` makes spaces mean nothing, `(?#…)` hides text)
            // and `\Q…\E` quoting change what the text around them means: no prefilter then.
            if byte == UInt8(ascii: "("), index + 1 < bytes.count, bytes[index] == UInt8(ascii: "?"), Self.changesParsing(bytes[index + 1]) {
                return nil
            }
            if byte == UInt8(ascii: "\\"), index < bytes.count, bytes[index] == UInt8(ascii: "Q") { return nil }
            if depth > 0 {
                switch byte {
                case UInt8(ascii: "\\"): index += 1
                case UInt8(ascii: "("): depth += 1
                case UInt8(ascii: ")"): depth -= 1
                case UInt8(ascii: "["): index = classEnd(bytes, from: index)
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
                index = classEnd(bytes, from: index)
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
                if !isLetterOrDigit {
                    run.append(escaped)
                } else if Self.singleCharacterEscapes.contains(escaped) {
                    endRun()
                } else {
                    // `\x41`, `\u0041`, `\0101`, `\cM`, `\p{L}`, `\12`…: characters follow that
                    // belong to the escape, not to the text.
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

    /// Escapes that stand for one character or position and take nothing after them.
    private static let singleCharacterEscapes = Set("dDwWsSbBAZzGntrfeahHvVRX".utf8)

    /// After `(?`: a letter, `-` or `#` starts inline flags or a comment; `:`, `=`, `!`, `<`, `>`
    /// start groups whose text keeps its meaning.
    private static func changesParsing(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "#") || byte == UInt8(ascii: "-") || (byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "z"))
    }

    /// The index after the `]` that closes a class opened just before `from`.
    private static func classEnd(_ bytes: [UInt8], from start: Int) -> Int {
        var index = start
        if index < bytes.count, bytes[index] == UInt8(ascii: "^") { index += 1 }
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1 }
        while index < bytes.count, bytes[index] != UInt8(ascii: "]") {
            if bytes[index] == UInt8(ascii: "\\") { index += 1 }
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
