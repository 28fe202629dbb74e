import SchoolgatePolicy

/// Reads one `[group NAME]` section into a `Group`, collecting every problem on the way.
struct GroupParser {
    static let settings = ["users", "directory-groups", "addresses", "block", "flag", "allow", "walled-garden", "time", "requires", "safesearch"]

    let section: ConfigDocument.Section
    let file: String
    let knownCategories: Set<String>
    private(set) var problems: [ConfigProblem] = []

    init(section: ConfigDocument.Section, file: String, knownCategories: Set<String>) {
        self.section = section
        self.file = file
        self.knownCategories = knownCategories
    }

    private mutating func problem(_ entry: ConfigDocument.Entry, _ message: String) {
        problems.append(ConfigProblem(file: file, line: entry.line, field: "\(section.title) \(entry.key)", message: message))
    }

    mutating func parse() -> Group? {
        let name = section.name ?? ""
        if !PolicyConfig.isName(name) {
            problems.append(ConfigProblem(file: file, line: section.line, field: section.title, message: "group names use a-z, 0-9, '-' and '_'"))
        }
        var values = SectionValues(section, file: file)
        let location = ConfigLocation(file: file, line: section.line)
        var group = Group(name: name, location: location)

        for entry in values.takeAll("users") {
            group.members.users.formUnion(PolicyConfig.commaList(entry.value).map { $0.lowercased() })
        }
        for entry in values.takeAll("directory-groups") {
            group.members.directoryGroups.formUnion(PolicyConfig.commaList(entry.value).map { $0.lowercased() })
        }
        for entry in values.takeAll("addresses") {
            for text in PolicyConfig.commaList(entry.value) {
                if let range = AddressRange(text) { group.members.addressRanges.append(range) } else { problem(entry, "'\(text)' is not an address range such as 10.2.0.0/16 or fd00::/8") }
            }
        }
        for entry in values.takeAll("block") {
            for category in categories(entry) { group.blocked[category] = ConfigLocation(file: file, line: entry.line) }
        }
        for entry in values.takeAll("allow") {
            for category in categories(entry, allowing: true) where !group.allowed.contains(category) { group.allowed.append(category) }
        }
        for entry in values.takeAll("flag") {
            for item in PolicyConfig.commaList(entry.value) {
                let parts = item.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2, let severity = Severity(rawValue: parts[1].lowercased()) else {
                    problem(entry, "'\(item)' should be CATEGORY:SEVERITY, severity one of low, medium, high, critical")
                    continue
                }
                if checkCategory(parts[0], entry) { group.flagged[parts[0]] = severity }
            }
        }
        for entry in values.takeAll("walled-garden") {
            switch entry.value.lowercased() {
            case "yes", "true", "on": group.walledGarden = true
            case "no", "false", "off": group.walledGarden = false
            default: problem(entry, "expected yes or no")
            }
        }
        for entry in values.takeAll("requires") {
            if let requirement = Group.IdentityRequirement(rawValue: entry.value.lowercased()) { group.requires = requirement } else { problem(entry, "expected none, authentication or consent") }
        }
        for entry in values.takeAll("safesearch") {
            switch entry.value.lowercased() {
            case "yes", "on", "strict": group.safeSearch = .strict
            case "moderate": group.safeSearch = .moderate
            case "no", "off": group.safeSearch = .off
            default: problem(entry, "expected strict, moderate or off")
            }
        }
        for entry in values.takeAll("time") {
            if let rule = timeRule(entry) { group.timeRules.append(rule) }
        }
        if group.walledGarden, group.allowed.isEmpty, !group.timeRules.contains(where: { $0.action == .allow }) {
            problems.append(ConfigProblem(file: file, line: section.line, field: "\(section.title) walled-garden",
                                          message: "a walled garden with no 'allow' categories would block everything"))
        }
        problems += values.unknown(expected: Self.settings)
        return problems.isEmpty ? group : nil
    }

    private mutating func categories(_ entry: ConfigDocument.Entry, allowing: Bool = false) -> [String] {
        PolicyConfig.commaList(entry.value).filter { category in
            if allowing, let slot = LockedSlot(rawValue: category) {
                problem(entry, "the \(slot.title) is locked: it cannot be allowed for any group")
                return false
            }
            return checkCategory(category, entry)
        }
    }

    private mutating func checkCategory(_ category: String, _ entry: ConfigDocument.Entry) -> Bool {
        if knownCategories.contains(category) || LockedSlot(rawValue: category) != nil { return true }
        let suggestion = knownCategories.min { distance($0, category) < distance($1, category) }
        problem(entry, "unknown category '\(category)'" + (suggestion.map { " (did you mean '\($0)'?)" } ?? ""))
        return false
    }

    /// `allow social-media mon-fri 10:30-10:50 12:15-13:00`: during those windows the categories
    /// are allowed (or blocked) for this group, whatever the group's other rules say.
    private mutating func timeRule(_ entry: ConfigDocument.Entry) -> TimeRule? {
        let words = entry.value.split(whereSeparator: \.isWhitespace).map(String.init)
        let usage = "expected 'allow|block CATEGORY[,CATEGORY] DAYS HH:MM-HH:MM [HH:MM-HH:MM…]', e.g. 'allow social-media mon-fri 12:15-13:00'"
        guard words.count >= 4, let action = TimeRule.Action(rawValue: words[0].lowercased()) else {
            problem(entry, usage)
            return nil
        }
        let categoryEntry = ConfigDocument.Entry(key: entry.key, value: words[1], line: entry.line)
        let categories = categories(categoryEntry, allowing: action == .allow)
        guard let days = Self.days(words[2]) else {
            problem(entry, "'\(words[2])' is not a day list such as mon-fri, sat,sun or daily")
            return nil
        }
        var windows: [TimeWindow] = []
        for text in words[3...] {
            guard let window = Self.window(text) else {
                problem(entry, "'\(text)' is not a time window such as 12:15-13:00 (start before end, within one day)")
                return nil
            }
            windows.append(window)
        }
        guard !categories.isEmpty else { return nil }
        return TimeRule(action: action, categories: categories, days: days, windows: windows, location: ConfigLocation(file: file, line: entry.line))
    }

    static func days(_ text: String) -> Set<Weekday>? {
        let lowered = text.lowercased()
        if lowered == "daily" || lowered == "every-day" { return Set(Weekday.allCases) }
        if lowered == "weekdays" { return Set(Weekday.allCases.filter { $0 <= .friday }) }
        if lowered == "weekends" { return [.saturday, .sunday] }
        var days: Set<Weekday> = []
        for part in lowered.split(separator: ",") {
            let ends = part.split(separator: "-")
            guard (1...2).contains(ends.count), let first = Weekday(abbreviation: ends[0]),
                  let last = Weekday(abbreviation: ends[ends.count - 1]), first <= last else { return nil }
            days.formUnion(Weekday.allCases.filter { $0 >= first && $0 <= last })
        }
        return days.isEmpty ? nil : days
    }

    static func window(_ text: String) -> TimeWindow? {
        let ends = text.split(separator: "-")
        guard ends.count == 2, let start = minute(ends[0]), let end = minute(ends[1]), start < end else { return nil }
        return TimeWindow(start: start, end: end)
    }

    private static func minute(_ text: Substring) -> Int? {
        let parts = text.split(separator: ":")
        guard parts.count == 2, parts[1].count == 2, let hour = Int(parts[0]), let minute = Int(parts[1]),
              (0...24).contains(hour), (0..<60).contains(minute), hour * 60 + minute <= 1440 else { return nil }
        return hour * 60 + minute
    }

    private func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var row = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var previous = row[0]
            row[0] = i
            for j in stride(from: 1, through: b.count, by: 1) {
                let current = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                previous = current
            }
        }
        return row[b.count]
    }
}
