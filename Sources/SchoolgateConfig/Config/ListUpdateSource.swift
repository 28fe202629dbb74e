import Foundation

/// A list the school downloads (`[list-updates]`): `NAME = URL` for a root named in `[lists]`,
/// with an optional `NAME-sha256` and `NAME-min-size`. A `.tar.gz` is unpacked into the root's
/// folder (UT1's blacklists.tar.gz); anything else replaces the root's file (a hosts list).
public struct ListUpdateSource: Sendable, Equatable {
    public var name: String
    public var url: URL
    public var target: String
    public var sha256: String?
    public var minimumBytes: Int = 1_024
    public var isArchive: Bool { url.path.hasSuffix(".tar.gz") || url.path.hasSuffix(".tgz") }

    static func parse(_ section: ConfigDocument.Section, file: String, roots: [String: String], problems: inout [ConfigProblem]) -> [ListUpdateSource] {
        var sources: [String: ListUpdateSource] = [:]
        var options: [(ConfigDocument.Entry, String, String)] = []
        for entry in section.entries {
            if let suffix = ["-sha256", "-min-size"].first(where: { entry.key.hasSuffix($0) }) {
                options.append((entry, String(entry.key.dropLast(suffix.count)), suffix))
                continue
            }
            guard let target = roots[entry.key] else {
                problems.append(ConfigProblem(file: file, line: entry.line, field: "[list-updates] \(entry.key)",
                                              message: "no list root '\(entry.key)' in [lists]: an update replaces a root's folder or file"))
                continue
            }
            guard let url = URL(string: entry.value), ["http", "https"].contains(url.scheme ?? "") else {
                problems.append(ConfigProblem(file: file, line: entry.line, field: "[list-updates] \(entry.key)", message: "expected an http:// or https:// URL"))
                continue
            }
            sources[entry.key] = ListUpdateSource(name: entry.key, url: url, target: target)
        }
        for (entry, name, suffix) in options {
            guard sources[name] != nil else {
                problems.append(ConfigProblem(file: file, line: entry.line, field: "[list-updates] \(entry.key)", message: "no '\(name) = URL' line for it"))
                continue
            }
            if suffix == "-sha256" {
                let hex = entry.value.lowercased()
                if hex.count == 64, hex.allSatisfy(\.isHexDigit) { sources[name]?.sha256 = hex } else {
                    problems.append(ConfigProblem(file: file, line: entry.line, field: "[list-updates] \(entry.key)", message: "expected 64 hexadecimal digits"))
                }
            } else {
                let text = entry.value.uppercased()
                let scale = text.hasSuffix("M") ? 1 << 20 : text.hasSuffix("K") ? 1 << 10 : 1
                if let number = Int(scale == 1 ? text : String(text.dropLast())), number > 0 { sources[name]?.minimumBytes = number * scale } else {
                    problems.append(ConfigProblem(file: file, line: entry.line, field: "[list-updates] \(entry.key)", message: "expected a size such as 500K or 5M"))
                }
            }
        }
        return sources.values.sorted { $0.name < $1.name }
    }
}
