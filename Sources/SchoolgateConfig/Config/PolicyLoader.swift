import Foundation
import SchoolgatePolicy

/// Entries per category, for `lists stats` and the start-up log.
public struct CategoryStats: Sendable, Codable {
    public var category: String
    public var entries: Int
    public var files: [String]
    /// squidGuard's `usage` (`black` / `white`) where the folder has one.
    public var usage: String?
    public var locked: Bool
}

/// A config file read, checked and compiled: what the proxy serves from.
public struct LoadedPolicy: Sendable {
    public var config: PolicyConfig
    public var policy: Policy
    public var calendar: SchoolCalendar
    public var stats: [CategoryStats]
    public var skippedLines: ListProblems
    public var loadSeconds: Double
    /// Locked slots whose file was absent, so nothing is in them yet.
    public var emptyLockedSlots: [LockedSlot]

    public var totalEntries: Int { stats.reduce(0) { $0 + $1.entries } }
}

public enum PolicyLoader {
    /// Reads the config and every list it names. Throws `ConfigErrors` for anything that must
    /// stop a load: a config problem, an unreadable list file, or a category left empty.
    public static func load(configPath: String, rootOverrides: [String: String] = [:]) throws(ConfigErrors) -> LoadedPolicy {
        let started = Date()
        let text: String
        do {
            text = try String(contentsOfFile: configPath, encoding: .utf8)
        } catch {
            throw ConfigErrors([ConfigProblem(file: configPath, line: nil, field: nil, message: "cannot read the config file: \(Self.reason(error))")])
        }
        let document = try ConfigDocument(file: configPath, text: text)
        let config = try PolicyConfig(document: document, rootOverrides: rootOverrides)

        var reader = ListReader()
        var stats: [CategoryStats] = []
        var problems: [ConfigProblem] = []
        for category in config.categories {
            var entries = 0
            var usage: String?
            for source in category.sources {
                do {
                    entries += try reader.read(source.format, path: source.path, category: category.name)
                    if source.format == .squidguard { usage = usage ?? SquidGuardLayout.usage(ofFolder: source.path) }
                } catch {
                    problems.append(ConfigProblem(file: config.file, line: source.line, field: "[category \(category.name)] \(source.format.rawValue)", message: error.description))
                }
            }
            if entries == 0, !category.sources.isEmpty, problems.isEmpty {
                problems.append(ConfigProblem(file: config.file, line: category.line, field: "[category \(category.name)]",
                                              message: "the category is empty: its lists gave no usable entries"))
            }
            stats.append(CategoryStats(category: category.name, entries: entries, files: category.sources.map(\.path), usage: usage, locked: false))
        }
        var emptySlots: [LockedSlot] = []
        for slot in LockedSlot.allCases {
            let path = config.lockedPaths[slot]!
            guard FileManager.default.fileExists(atPath: path) else {
                emptySlots.append(slot)
                stats.append(CategoryStats(category: slot.category, entries: 0, files: [], usage: "black", locked: true))
                continue
            }
            do {
                let entries = try reader.read(.urls, path: path, category: slot.category)
                stats.append(CategoryStats(category: slot.category, entries: entries, files: [path], usage: "black", locked: true))
            } catch {
                problems.append(ConfigProblem(file: config.file, line: nil, field: "[locked] \(slot.rawValue)", message: error.description))
            }
        }
        if !problems.isEmpty { throw ConfigErrors(problems) }

        let index = reader.builder.build()
        let policy = Policy(groups: config.groups, index: index, defaultGroup: config.school.defaultGroup)
        return LoadedPolicy(
            config: config, policy: policy, calendar: SchoolCalendar(timeZone: config.school.timeZone), stats: stats,
            skippedLines: reader.problems, loadSeconds: Date().timeIntervalSince(started), emptyLockedSlots: emptySlots)
    }

    static func reason(_ error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return nsError.localizedDescription
    }
}
