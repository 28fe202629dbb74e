import SchoolgatePolicy

/// What a reload changed, in a line for the audit trail: governors asking "who changed the
/// filter, and what?" get an answer without diffing files.
public enum PolicyDiff {
    public static func summary(from old: LoadedPolicy, to new: LoadedPolicy) -> String {
        var parts: [String] = []
        let oldEntries = Dictionary(old.stats.map { ($0.category, $0.entries) }, uniquingKeysWith: +)
        let newEntries = Dictionary(new.stats.map { ($0.category, $0.entries) }, uniquingKeysWith: +)
        let added = newEntries.keys.filter { oldEntries[$0] == nil }.sorted()
        let removed = oldEntries.keys.filter { newEntries[$0] == nil }.sorted()
        if !added.isEmpty { parts.append("categories added: \(added.joined(separator: ", "))") }
        if !removed.isEmpty { parts.append("categories removed: \(removed.joined(separator: ", "))") }
        let resized = newEntries.keys.sorted().compactMap { name -> String? in
            guard let before = oldEntries[name], let after = newEntries[name], before != after else { return nil }
            return "\(name) \(before)→\(after)"
        }
        if !resized.isEmpty { parts.append("list entries: \(resized.joined(separator: ", "))") }

        let oldGroups = old.policy.groups, newGroups = new.policy.groups
        let groupsAdded = new.policy.groupOrder.filter { oldGroups[$0] == nil }
        let groupsRemoved = old.policy.groupOrder.filter { newGroups[$0] == nil }
        if !groupsAdded.isEmpty { parts.append("groups added: \(groupsAdded.joined(separator: ", "))") }
        if !groupsRemoved.isEmpty { parts.append("groups removed: \(groupsRemoved.joined(separator: ", "))") }
        let changed = new.policy.groupOrder.compactMap { name -> String? in
            guard let before = oldGroups[name], let after = newGroups[name] else { return nil }
            let fields = changedFields(before, after)
            return fields.isEmpty ? nil : "\(name) (\(fields.joined(separator: ", ")))"
        }
        if !changed.isEmpty { parts.append("groups changed: \(changed.joined(separator: "; "))") }
        if old.policy.defaultGroup != new.policy.defaultGroup { parts.append("default group \(old.policy.defaultGroup)→\(new.policy.defaultGroup)") }
        return parts.isEmpty ? "no change to groups or lists" : parts.joined(separator: "; ")
    }

    static func changedFields(_ a: Group, _ b: Group) -> [String] {
        var fields: [String] = []
        if a.members != b.members { fields.append("members") }
        if Set(a.blocked.keys) != Set(b.blocked.keys) { fields.append(delta("block", Set(a.blocked.keys), Set(b.blocked.keys))) }
        if a.flagged != b.flagged { fields.append("flag") }
        if Set(a.allowed) != Set(b.allowed) { fields.append(delta("allow", Set(a.allowed), Set(b.allowed))) }
        if a.walledGarden != b.walledGarden { fields.append("walled-garden \(b.walledGarden ? "on" : "off")") }
        if a.timeRules.map(\.categories) != b.timeRules.map(\.categories) || a.timeRules.count != b.timeRules.count { fields.append("time rules") }
        if a.requires != b.requires { fields.append("requires \(b.requires.rawValue)") }
        if a.safeSearch != b.safeSearch { fields.append("safesearch \(b.safeSearch.rawValue)") }
        return fields
    }

    private static func delta(_ name: String, _ before: Set<String>, _ after: Set<String>) -> String {
        let plus = after.subtracting(before).sorted().map { "+\($0)" }
        let minus = before.subtracting(after).sorted().map { "-\($0)" }
        return "\(name) " + (plus + minus).joined(separator: " ")
    }
}
