/// A list line that was skipped, and why. Skipped lines do not stop a load: real lists carry a
/// few odd lines, and refusing a whole 600,000-line list for one of them would leave the school
/// unfiltered. They are reported (file:line, reason) by `config check` and at start-up.
public struct ListProblem: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var text: String
    public var reason: String

    public var description: String { "\(file):\(line): \(reason): \(text)" }
}

/// Keeps the first few problems of each file word for word and counts the rest.
public struct ListProblems: Sendable {
    public static let keptPerFile = 20
    public private(set) var kept: [ListProblem] = []
    public private(set) var countByFile: [String: Int] = [:]

    public var total: Int { countByFile.values.reduce(0, +) }

    mutating func record(file: String, line: Int, text: UnsafeBufferPointer<UInt8>, reason: String) {
        let count = countByFile[file, default: 0]
        countByFile[file] = count + 1
        guard count < Self.keptPerFile else { return }
        var shown = String(decoding: text.prefix(120), as: UTF8.self)
        if text.count > 120 { shown += "…" }
        kept.append(ListProblem(file: file, line: line, text: shown, reason: reason))
    }

    /// Every kept problem, then a line per file saying how many more there were.
    public var report: [String] {
        var lines = kept.map(\.description)
        for (file, count) in countByFile.sorted(by: { $0.key < $1.key }) where count > Self.keptPerFile {
            lines.append("\(file): \(count - Self.keptPerFile) more skipped lines not shown")
        }
        return lines
    }
}
