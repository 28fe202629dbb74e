/// A group as a decision reads it: held by reference, with what it does to each list source
/// worked out when the policy is built.
///
/// Reading fields through a `Group` value copied the whole struct (a retain and release per
/// field), and asking its dictionaries about each match's category hashed that string three or
/// four times; a decision made both on every request. Here a match's role is one array read.
final class CompiledGroup: Sendable {
    /// What the group does with one category. Plain bits, so reading one copies nothing.
    struct Role: Sendable {
        var locked = false
        var allowed = false
        var blocked = false
        var flagged: Severity?
        /// Where `blocked` was configured, in `blockedLocations`.
        var location = -1
    }

    let name: String
    let walledGarden: Bool
    let timeRules: [TimeRule]
    let requires: Group.IdentityRequirement
    let safeSearch: SafeSearchLevel
    let location: ConfigLocation?
    private let roles: [Role]
    /// Indexed like `ListIndex.sources`: the index in `roles`, or -1 when the group ignores it.
    private let roleBySource: [Int32]
    private let blockedLocations: [ConfigLocation?]

    init(_ group: Group, sources: [ListSource]) {
        name = group.name
        walledGarden = group.walledGarden
        timeRules = group.timeRules
        requires = group.requires
        safeSearch = group.safeSearch
        location = group.location
        var byCategory: [String: Role] = [:]
        var locations: [ConfigLocation?] = []
        for (category, location) in group.blocked {
            byCategory[category, default: Role()].blocked = true
            byCategory[category, default: Role()].location = locations.count
            locations.append(location)
        }
        for (category, severity) in group.flagged { byCategory[category, default: Role()].flagged = severity }
        for category in group.allowed { byCategory[category, default: Role()].allowed = true }
        for category in Policy.lockedCategories { byCategory[category, default: Role()].locked = true }
        let categories = Array(byCategory.keys)
        roles = categories.map { byCategory[$0]! }
        let indices = Dictionary(uniqueKeysWithValues: categories.enumerated().map { ($1, Int32($0)) })
        roleBySource = sources.map { indices[$0.category] ?? -1 }
        blockedLocations = locations
    }

    func role(of match: IndexMatch) -> Role? {
        let index = roleBySource[Int(match.source)]
        return index < 0 ? nil : roles[Int(index)]
    }

    func blockedLocation(_ role: Role) -> ConfigLocation? {
        role.location < 0 ? nil : blockedLocations[role.location]
    }
}
