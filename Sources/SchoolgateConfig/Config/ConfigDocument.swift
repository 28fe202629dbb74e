import Foundation
import SchoolgatePolicy

/// The config file's syntax, kept apart from its meaning: `[kind name]` sections holding
/// `key = value` lines, `#` comments, and indented lines continuing the value above.
///
/// INI-style rather than YAML or TOML because an ICT manager edits it by hand over SSH, every
/// setting sits on one line whose number an error message can name, and there is no
/// indentation or quoting to get subtly wrong.
public struct ConfigDocument: Sendable {
    public struct Entry: Sendable {
        public var key: String
        public var value: String
        public var line: Int
    }

    public struct Section: Sendable {
        public var kind: String
        public var name: String?
        public var line: Int
        public var entries: [Entry]

        public var title: String { name.map { "[\(kind) \($0)]" } ?? "[\(kind)]" }
    }

    public var file: String
    public var sections: [Section]

    public init(file: String, text: String) throws(ConfigErrors) {
        self.file = file
        var sections: [Section] = []
        var problems: [ConfigProblem] = []
        for (offset, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = offset + 1
            let line = Self.stripComment(rawLine)
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if line.first == " " || line.first == "\t" {
                // A continuation line: long lists can be wrapped.
                if var section = sections.popLast(), var entry = section.entries.popLast() {
                    entry.value += (entry.value.isEmpty ? "" : " ") + trimmed
                    section.entries.append(entry)
                    sections.append(section)
                } else {
                    problems.append(ConfigProblem(file: file, line: number, field: nil, message: "indented line with no setting above it to continue"))
                }
                continue
            }
            if trimmed.hasPrefix("[") {
                guard trimmed.hasSuffix("]") else {
                    problems.append(ConfigProblem(file: file, line: number, field: nil, message: "section header must end with ']'"))
                    continue
                }
                let words = trimmed.dropFirst().dropLast().split(whereSeparator: \.isWhitespace)
                guard let kind = words.first, words.count <= 2 else {
                    problems.append(ConfigProblem(file: file, line: number, field: nil, message: "section header must be [kind] or [kind name]"))
                    continue
                }
                sections.append(Section(kind: kind.lowercased(), name: words.count == 2 ? String(words[1]) : nil, line: number, entries: []))
                continue
            }
            guard let equals = trimmed.firstIndex(of: "=") else {
                problems.append(ConfigProblem(file: file, line: number, field: nil, message: "expected 'key = value' or a [section] header"))
                continue
            }
            let key = trimmed[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            let value = trimmed[trimmed.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty else {
                problems.append(ConfigProblem(file: file, line: number, field: nil, message: "setting with no name before '='"))
                continue
            }
            guard !sections.isEmpty else {
                problems.append(ConfigProblem(file: file, line: number, field: key, message: "setting outside any [section]"))
                continue
            }
            sections[sections.count - 1].entries.append(Entry(key: key, value: value, line: number))
        }
        if !problems.isEmpty { throw ConfigErrors(problems) }
        self.sections = sections
    }

    /// A `#` starts a comment at the beginning of a line or after white space, so values such as
    /// URLs with fragments survive.
    private static func stripComment(_ line: Substring) -> String {
        var previous: Character = " "
        for index in line.indices {
            if line[index] == "#", previous == " " || previous == "\t" {
                return String(line[..<index])
            }
            previous = line[index]
        }
        return String(line).replacingOccurrences(of: "\r", with: "")
    }
}

/// One thing wrong with the config, placed as precisely as the file allows.
public struct ConfigProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var field: String?
    public var message: String

    public init(file: String, line: Int?, field: String?, message: String) {
        self.file = file
        self.line = line
        self.field = field
        self.message = message
    }

    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        text += ": "
        if let field { text += "\(field): " }
        return text + message
    }
}

/// Every problem found, so the ICT manager can fix them all in one pass.
public struct ConfigErrors: Error, Sendable, CustomStringConvertible {
    public var problems: [ConfigProblem]

    public init(_ problems: [ConfigProblem]) { self.problems = problems }

    public var description: String { problems.map(\.description).joined(separator: "\n") }
}
