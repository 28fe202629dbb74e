import Foundation

/// The ICT manager's local decision about one site (`schoolgate allow|block`): a reason, a
/// person, optionally one group and an end time (a teacher's lesson). Overrides sit above the
/// lists and below the locked IWF and CTIRU slots, which nothing overrides.
public struct PolicyOverride: Sendable, Equatable, Codable {
    public enum Action: String, Sendable, Codable {
        case allow, block
    }

    public var id: Int64?
    /// A normalised host name; it covers its subdomains, as list entries do.
    public var host: String
    public var action: Action
    /// Only this group; every group when nil.
    public var group: String?
    /// How the block page and reports name it (`local` when not given).
    public var category: String?
    public var reason: String
    public var actor: String
    public var created: Date
    public var expires: Date?
    public var removed: Date?

    public init(id: Int64? = nil, host: String, action: Action, group: String? = nil, category: String? = nil, reason: String, actor: String,
                created: Date, expires: Date? = nil, removed: Date? = nil) {
        self.id = id
        self.host = host
        self.action = action
        self.group = group
        self.category = category
        self.reason = reason
        self.actor = actor
        self.created = created
        self.expires = expires
        self.removed = removed
    }

    /// The audit trail's line for it: what, for whom, until when, and why.
    public func auditDetail(id: Int64) -> String {
        let scope = group.map { "for \($0)" } ?? "for every group"
        let until = expires.map { " until \(ISO8601DateFormatter().string(from: $0))" } ?? ""
        return "#\(id) \(host) \(scope)\(until): \(reason)"
    }

    public func isActive(at time: Date) -> Bool {
        removed == nil && created <= time && (expires.map { time < $0 } ?? true)
    }

    /// The match a decision reports for it: the override's number stands where a list file would.
    var match: ListMatch {
        ListMatch(source: ListSource(category: category ?? "local", file: "override #\(id ?? 0)", format: "override"), entry: host, kind: .domain)
    }
}

/// The overrides in force, indexed by host for the per-request lookup.
public struct OverrideSet: Sendable, Equatable {
    private var byHost: [String: [PolicyOverride]] = [:]
    public let count: Int
    /// No overrides: shared, since building an empty set (and its dictionary) on every decision
    /// showed up in the decision's profile.
    public static let empty = OverrideSet()

    public init(_ overrides: [PolicyOverride] = []) {
        for override in overrides { byHost[override.host, default: []].append(override) }
        count = overrides.count
    }

    /// The most specific override for `host` and `group`: the longest matching name wins, a
    /// group's own over an everyone's, and a block over an allow at the same level.
    func lookup(_ host: HostName, group: String, at time: Date) -> PolicyOverride? {
        guard count > 0 else { return nil }
        var name = Substring(host.text)
        while true {
            if let candidates = byHost[String(name)] {
                let live = candidates.filter { ($0.group == nil || $0.group == group) && $0.isActive(at: time) }
                if let best = live.max(by: { Self.rank($0) < Self.rank($1) }) { return best }
            }
            guard let dot = name.firstIndex(of: ".") else { return nil }
            name = name[name.index(after: dot)...]
        }
    }

    private static func rank(_ override: PolicyOverride) -> Int {
        (override.group == nil ? 0 : 2) + (override.action == .block ? 1 : 0)
    }
}
