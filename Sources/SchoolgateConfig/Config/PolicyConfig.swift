import Foundation
import SchoolgatePolicy

public struct SchoolSettings: Sendable {
    public var name: String
    public var timeZone: TimeZone
    /// How a pupil asks for a site to be reviewed, shown on the block page.
    public var reviewContact: String
    public var defaultGroup: String
    /// The people the DfE standards ask schools to name.
    public var dsl: String?
    public var ictLead: String?
    public var governor: String?
}

public struct CategorySource: Sendable, Equatable {
    public var format: ListFormat
    public var path: String
    public var line: Int
}

public struct CategoryConfig: Sendable {
    public var name: String
    public var description: String?
    public var sources: [CategorySource]
    public var line: Int
}

/// The policy half of the config file, checked for meaning: every category a group names
/// exists, every time rule parses, the locked slots are intact.
public struct PolicyConfig: Sendable {
    public var file: String
    public var school: SchoolSettings
    public var categories: [CategoryConfig]
    public var groups: [Group]
    /// Where each locked slot's file is expected; a missing file leaves the slot empty.
    public var lockedPaths: [LockedSlot: String]
    public var proxy: ProxySettings
    public var monitoring: MonitoringSettings
    public var alerts: AlertSettings
    public var consent: ConsentSettings
    public var authentication: AuthenticationSettings
    public var radius: RadiusSettings?
    public var directory: DirectorySettings?
    public var admin: AdminSettings
    public var addressUsers: [(range: AddressRange, user: String)]

    public static let lockedOffWords: Set<String> = ["", "off", "no", "none", "false", "disabled", "disable", "0"]

    /// Named list roots from `[lists]`, resolved.
    public var listRoots: [String: String]
    public var listUpdates: [ListUpdateSource]

    /// `rootOverrides` points list roots elsewhere (a freshly downloaded copy being checked).
    public init(document: ConfigDocument, rootOverrides: [String: String] = [:]) throws(ConfigErrors) {
        var problems: [ConfigProblem] = []
        let file = document.file
        let directory = (file as NSString).deletingLastPathComponent
        func problem(_ line: Int?, _ field: String?, _ message: String) {
            problems.append(ConfigProblem(file: file, line: line, field: field, message: message))
        }

        var school: (name: String, zone: TimeZone, contact: String, defaultGroup: String?, line: Int)?
        var people: (dsl: String?, ictLead: String?, governor: String?) = (nil, nil, nil)
        var roots: [String: String] = [:]
        var categories: [CategoryConfig] = []
        var groupSections: [ConfigDocument.Section] = []
        var lockedPaths: [LockedSlot: String] = [:]
        var proxy = ProxySettings()
        var monitoring = MonitoringSettings(defaultDirectory: directory)
        var alerts = AlertSettings()
        var consentSection: ConfigDocument.Section?
        var authentication = AuthenticationSettings(directory: directory)
        var radius: RadiusSettings?
        var directorySettings: DirectorySettings?
        var admin = AdminSettings()
        var updateSections: [ConfigDocument.Section] = []
        var addressUsers: [(range: AddressRange, user: String)] = []
        for slot in LockedSlot.allCases {
            lockedPaths[slot] = Self.resolve("locked/\(slot.rawValue).txt", against: directory)
        }

        for section in document.sections {
            let title = section.title
            switch section.kind {
            case "school":
                var values = SectionValues(section, file: file)
                let name = values.take("name") ?? "Our school"
                let zoneName = values.take("timezone") ?? "Europe/London"
                let contact = values.take("review-contact") ?? "ask your teacher or the ICT office"
                let defaultGroup = values.take("default-group")
                people = (values.take("dsl"), values.take("ict-lead"), values.take("governor"))
                var zone = TimeZone(identifier: "Europe/London")!
                if let parsed = TimeZone(identifier: zoneName) {
                    zone = parsed
                } else {
                    problem(values.line("timezone"), "\(title) timezone", "unknown time zone '\(zoneName)' (use a name such as Europe/London)")
                }
                problems += values.unknown(expected: ["name", "timezone", "review-contact", "default-group", "dsl", "ict-lead", "governor"])
                school = (name, zone, contact, defaultGroup, section.line)
            case "lists":
                for entry in section.entries {
                    guard Self.isName(entry.key) else {
                        problem(entry.line, "\(title) \(entry.key)", "list root names use a-z, 0-9, '-' and '_'")
                        continue
                    }
                    roots[entry.key] = rootOverrides[entry.key] ?? Self.resolve(entry.value, against: directory)
                }
            case "locked":
                for entry in section.entries {
                    guard let slot = LockedSlot(rawValue: entry.key) else {
                        problem(entry.line, "\(title) \(entry.key)", "the locked section holds only 'iwf' and 'ctiru' file paths; the locked lists cannot be switched off or changed in any other way")
                        continue
                    }
                    if Self.lockedOffWords.contains(entry.value.lowercased()) {
                        problem(entry.line, "\(title) \(entry.key)", "the \(slot.title) cannot be switched off: it always blocks for every group. Give the path of its file; while the file is absent the slot is empty")
                        continue
                    }
                    lockedPaths[slot] = Self.resolve(entry.value, against: directory)
                }
            case "category":
                guard let name = section.name else {
                    problem(section.line, title, "a category needs a name: [category NAME]")
                    continue
                }
                if let slot = LockedSlot(rawValue: name) {
                    problem(section.line, title, "'\(name)' is the locked \(slot.title); it cannot be redefined")
                    continue
                }
                if !Self.isName(name) { problem(section.line, title, "category names use a-z, 0-9, '-' and '_'") }
                if categories.contains(where: { $0.name == name }) { problem(section.line, title, "category defined twice") }
                var sources: [CategorySource] = []
                var description: String?
                for entry in section.entries {
                    if entry.key == "description" {
                        description = entry.value
                    } else if let format = ListFormat(rawValue: entry.key) {
                        for path in Self.commaList(entry.value) {
                            switch Self.resolveListPath(path, roots: roots, directory: directory) {
                            case .success(let resolved): sources.append(CategorySource(format: format, path: resolved, line: entry.line))
                            case .failure(let failure): problem(entry.line, "\(title) \(entry.key)", failure.message)
                            }
                        }
                    } else {
                        let formats = ListFormat.allCases.map(\.rawValue).joined(separator: ", ")
                        problem(entry.line, "\(title) \(entry.key)", "unknown setting (expected description or a list format: \(formats))")
                    }
                }
                if sources.isEmpty { problem(section.line, title, "category has no lists") }
                categories.append(CategoryConfig(name: name, description: description, sources: sources, line: section.line))
            case "group":
                guard section.name != nil else {
                    problem(section.line, title, "a group needs a name: [group NAME]")
                    continue
                }
                groupSections.append(section)
            case "proxy":
                proxy = ProxySettings(section: section, file: file, problems: &problems)
            case "alerts":
                alerts = AlertSettings(section: section, file: file, problems: &problems)
            case "consent":
                consentSection = section
            case "authentication":
                authentication = AuthenticationSettings(section: section, file: file, directory: directory, problems: &problems)
            case "radius":
                radius = RadiusSettings(section: section, file: file, directory: directory, problems: &problems)
            case "list-updates":
                updateSections.append(section)
            case "admin":
                admin = AdminSettings(section: section, file: file, problems: &problems)
            case "directory":
                directorySettings = DirectorySettings(section: section, file: file, directory: directory, problems: &problems)
            case "address-users":
                addressUsers += AddressUsers.parse(section, file: file, problems: &problems)
            case "monitoring":
                monitoring = MonitoringSettings(section: section, file: file, directory: directory, problems: &problems)
            default:
                problem(section.line, title, "unknown section (expected school, proxy, monitoring, alerts, consent, authentication, directory, radius, admin, address-users, list-updates, lists, locked, category or group)")
            }
        }

        let known = Set(categories.map(\.name))
        var groups: [Group] = []
        for section in groupSections {
            var parser = GroupParser(section: section, file: file, knownCategories: known)
            if let group = parser.parse(), !groups.contains(where: { $0.name == group.name }) {
                groups.append(group)
            } else if parser.problems.isEmpty {
                problem(section.line, section.title, "group defined twice")
            }
            problems += parser.problems
        }
        if groupSections.isEmpty { problem(nil, nil, "no [group …] sections: at least one group is needed") }
        let defaultGroup = school?.defaultGroup ?? groups.last?.name ?? ""
        if let school, let named = school.defaultGroup, !groups.contains(where: { $0.name == named }) {
            problem(school.line, "[school] default-group", "no group named '\(named)'")
        }
        if let listen = admin.listen, listen.port == proxy.listenPort, listen.host == proxy.listenHost || listen.host == "0.0.0.0" || proxy.listenHost == "0.0.0.0" {
            problem(nil, "[admin] listen", "the admin address must not be the proxy's: metrics and health are for the school's monitoring, not for pupils' browsers")
        }
        let listUpdates = updateSections.flatMap { ListUpdateSource.parse($0, file: file, roots: roots, problems: &problems) }
        var consent = ConsentSettings(section: consentSection, file: file, directory: directory, problems: &problems)
        if groups.contains(where: { $0.requires == .consent }) {
            consent.readTerms(file: file, line: consentSection?.line, problems: &problems)
        }
        if !problems.isEmpty { throw ConfigErrors(problems) }

        self.file = file
        self.school = SchoolSettings(
            name: school?.name ?? "Our school", timeZone: school?.zone ?? TimeZone(identifier: "Europe/London")!,
            reviewContact: school?.contact ?? "ask your teacher or the ICT office", defaultGroup: defaultGroup,
            dsl: people.dsl, ictLead: people.ictLead, governor: people.governor)
        self.categories = categories
        self.groups = groups
        self.lockedPaths = lockedPaths
        self.proxy = proxy
        self.monitoring = monitoring
        self.alerts = alerts
        self.consent = consent
        self.authentication = authentication
        self.radius = radius
        self.directory = directorySettings
        self.admin = admin
        self.listRoots = roots
        self.listUpdates = listUpdates
        self.addressUsers = addressUsers
    }

    static func isName(_ text: String) -> Bool {
        !text.isEmpty && text.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-" || $0 == "_") }
    }

    static func commaList(_ value: String) -> [String] {
        value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    static func resolve(_ path: String, against directory: String) -> String {
        let joined = path.hasPrefix("/") || directory.isEmpty ? path : (directory as NSString).appendingPathComponent(path)
        return lexicallyClean(joined)
    }

    /// `a/b/../c` → `a/c`, without touching the file system, so paths read well in messages.
    static func lexicallyClean(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == "..", let last = parts.last, last != ".." {
                parts.removeLast()
            } else if part == "..", path.hasPrefix("/"), parts.isEmpty {
                continue
            } else {
                parts.append(part)
            }
        }
        let joined = parts.joined(separator: "/")
        return path.hasPrefix("/") ? "/" + joined : (joined.isEmpty ? "." : joined)
    }

    /// `root:relative/path` uses a root from [lists]; anything else is relative to the config file.
    static func resolveListPath(_ path: String, roots: [String: String], directory: String) -> Result<String, ConfigProblem> {
        if let colon = path.firstIndex(of: ":"), !path.hasPrefix("/") {
            let root = String(path[..<colon])
            guard let base = roots[root] else {
                return .failure(ConfigProblem(file: "", line: nil, field: nil, message: "no list root '\(root)' in [lists] (define it before the categories that use it)"))
            }
            return .success(SquidGuardLayout.resolve(base: base, relative: String(path[path.index(after: colon)...])))
        }
        return .success(resolve(path, against: directory))
    }
}

/// Settings of one section, taken one by one so that whatever is left over is reported as unknown.
struct SectionValues {
    private var remaining: [ConfigDocument.Entry]
    private let section: ConfigDocument.Section
    private let file: String

    init(_ section: ConfigDocument.Section, file: String) {
        self.section = section
        self.remaining = section.entries
        self.file = file
    }

    func line(_ key: String) -> Int? {
        section.entries.last { $0.key == key }?.line
    }

    /// The last value given for `key` (later lines override earlier ones), removed from the rest.
    mutating func take(_ key: String) -> String? {
        takeAll(key).last?.value
    }

    mutating func takeAll(_ key: String) -> [ConfigDocument.Entry] {
        let taken = remaining.filter { $0.key == key }
        remaining.removeAll { $0.key == key }
        return taken
    }

    func unknown(expected: [String]) -> [ConfigProblem] {
        remaining.map {
            ConfigProblem(file: file, line: $0.line, field: "\(section.title) \($0.key)",
                          message: "unknown setting (expected one of: \(expected.joined(separator: ", ")))")
        }
    }
}
