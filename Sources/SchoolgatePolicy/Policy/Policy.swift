import Foundation

/// A request as the policy sees it: plain values, with the time already in school-local form.
public struct PolicyRequest: Sendable, Equatable {
    public var group: String
    public var user: String?
    public var host: HostName
    /// The normalised path and query, only where the proxy can see it (plain HTTP).
    public var path: String?
    public var port: Int?
    public var time: LocalTime
    public var isAuthenticated: Bool
    public var hasConsented: Bool

    public init(
        group: String, user: String? = nil, host: HostName, path: String? = nil, port: Int? = nil,
        time: LocalTime, isAuthenticated: Bool = true, hasConsented: Bool = true
    ) {
        self.group = group
        self.user = user
        self.host = host
        self.path = path
        self.port = port
        self.time = time
        self.isAuthenticated = isAuthenticated
        self.hasConsented = hasConsented
    }
}

/// Slots for the lists that UK schools must block and may not switch off: the IWF's child
/// sexual abuse URL list and the police-assessed (CTIRU) terrorist content list.
public enum LockedSlot: String, Sendable, Codable, CaseIterable {
    case iwf
    case ctiru

    public var category: String { rawValue }
    public var title: String {
        switch self {
        case .iwf: "IWF child sexual abuse content list"
        case .ctiru: "CTIRU police-assessed terrorist content list"
        }
    }
}

/// The compiled policy: groups, the compiled lists, and the order in which rules apply.
///
/// Order (README, "How a decision is made"):
/// 1. locked lists (IWF, CTIRU): block, for every group, before anything else;
/// 2. identity: a group that requires consent or authentication waits for it;
/// 3. the ICT manager's local overrides (`schoolgate allow|block`), the most specific first;
/// 4. exception categories of the group: allow;
/// 5. time rules in force now: allow or block their categories;
/// 6. blocked categories: block;
/// 7. flagged categories: allow, and raise an incident;
/// 8. walled garden: block anything not allowed above;
/// 9. otherwise allow.
/// Flagged categories raise an incident whichever rule decides, so a DSL also hears about
/// blocked attempts. When several entries match, the most specific (URL over domain, longer
/// over shorter, expression last) is the one reported.
public struct Policy: Sendable {
    public let groups: [String: Group]
    /// Group names in config order, for listings.
    public let groupOrder: [String]
    public let index: ListIndex
    public let defaultGroup: String
    /// In config order. Found by name with a scan: a school has a handful of groups, and
    /// comparing short names is cheaper than hashing one for a dictionary.
    private let compiled: [CompiledGroup]

    public init(groups: [Group], index: ListIndex, defaultGroup: String) {
        self.groups = Dictionary(groups.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.groupOrder = groups.map(\.name)
        self.compiled = groupOrder.compactMap { [groups = self.groups] in groups[$0].map { CompiledGroup($0, sources: index.sources) } }
        self.index = index
        self.defaultGroup = defaultGroup
    }

    static let lockedCategories = Set(LockedSlot.allCases.map(\.category))

    /// `overrides` are the ICT manager's local allow/block decisions; `instant` is when the
    /// request is made, for the ones that end (none apply without it).
    public func decide(_ request: PolicyRequest, overrides: OverrideSet = .empty, at instant: Date = .distantPast) -> Decision {
        guard let group = compiledGroup(request.group) else {
            // A group the config does not have: refused rather than guessed.
            return Decision(verdict: .block, rule: .unknownGroup, group: request.group)
        }
        var matches = index.indexMatches(host: request.host, path: request.path)
        if matches.count > 1 {
            let hostLength = request.host.text.utf8.count
            matches.sort { [index] in index.isMoreSpecific($0, than: $1, hostLength: hostLength) }
        }
        let override = overrides.count == 0 ? nil : overrides.lookup(request.host, group: request.group, at: instant)
        let outcome = decide(request, matches: matches, group: group, override: override)
        // The decision is built once, here: it carries several references, and every copy of
        // one on the way out of the rules below cost a retain and a release of each.
        let match: ListMatch? = switch outcome.match {
        case .none: nil
        case .list(let number): index.listMatch(matches[number], host: request.host, path: request.path)
        case .override: override?.match
        }
        let allowed = outcome.verdict == .allow || outcome.verdict == .flag
        return Decision(verdict: outcome.verdict, rule: outcome.rule, group: group.name, match: match, severity: outcome.severity,
                        ruleLocation: outcome.location, connectTo: allowed ? SafeSearch.enforcedHost(for: request.host, level: group.safeSearch) : nil)
    }

    private func compiledGroup(_ name: String) -> CompiledGroup? {
        compiled.first { $0.name == name }
    }

    /// What the rules decided, with the match named by where it is rather than copied.
    private struct Outcome {
        enum Match { case none, list(Int), override }
        var verdict: Decision.Verdict
        var rule: Decision.Rule
        var match = Match.none
        var severity: Severity?
        var location: ConfigLocation?
    }

    private func decide(_ request: PolicyRequest, matches: [IndexMatch], group: CompiledGroup, override: PolicyOverride?) -> Outcome {
        if let locked = matches.firstIndex(where: { group.role(of: $0)?.locked == true }) {
            return Outcome(verdict: .block, rule: .lockedList, match: .list(locked), severity: .critical)
        }
        switch group.requires {
        case .consent where !request.hasConsented:
            return Outcome(verdict: .needsConsent, rule: .consentRequired, location: group.location)
        case .authentication where !request.isAuthenticated:
            return Outcome(verdict: .needsAuthentication, rule: .authenticationRequired, location: group.location)
        default:
            break
        }

        var flag: (index: Int, severity: Severity)?
        for i in matches.indices {
            if let severity = group.role(of: matches[i])?.flagged, flag.map({ severity > $0.severity }) ?? true { flag = (i, severity) }
        }
        func allowing(_ rule: Decision.Rule, _ match: Outcome.Match, _ location: ConfigLocation?) -> Outcome {
            if let flag {
                // Without a match of its own, the decision names the flagged one.
                let named: Outcome.Match = if case .none = match { .list(flag.index) } else { match }
                return Outcome(verdict: .flag, rule: rule, match: named, severity: flag.severity, location: location)
            }
            return Outcome(verdict: .allow, rule: rule, match: match, location: location)
        }

        // Local overrides come after the locked lists and identity, before every list rule;
        // a flagged category still raises its incident when an override allows the site.
        if let override {
            switch override.action {
            case .allow: return allowing(.localOverride, .override, nil)
            case .block: return Outcome(verdict: .block, rule: .localOverride, match: .override, severity: flag?.severity)
            }
        }
        if let exception = matches.firstIndex(where: { group.role(of: $0)?.allowed == true }) {
            return allowing(.exception, .list(exception), group.location)
        }
        for rule in group.timeRules where rule.applies(at: request.time) {
            guard let match = matches.firstIndex(where: { rule.categories.contains(index.sources[Int($0.source)].category) }) else { continue }
            switch rule.action {
            case .allow:
                return allowing(.timeRuleAllow, .list(match), rule.location)
            case .block:
                return Outcome(verdict: .block, rule: .timeRuleBlock, match: .list(match), severity: flag?.severity, location: rule.location)
            }
        }
        for (index, match) in matches.enumerated() {
            guard let role = group.role(of: match), role.blocked else { continue }
            return Outcome(verdict: .block, rule: .blockedCategory, match: .list(index), severity: flag?.severity, location: group.blockedLocation(role))
        }
        if let flag {
            return Outcome(verdict: .flag, rule: .flaggedCategory, match: .list(flag.index), severity: flag.severity, location: group.location)
        }
        if group.walledGarden {
            return Outcome(verdict: .block, rule: .walledGarden, location: group.location)
        }
        return Outcome(verdict: .allow, rule: .defaultAllow)
    }

    /// The group for someone: a named user first, then a directory group, then the most specific
    /// address range; otherwise the configured default group (never a privileged one by accident).
    public func group(for identity: Identity) -> String {
        if let user = identity.user?.lowercased() {
            if let name = groupOrder.first(where: { groups[$0]!.members.users.contains(user) }) { return name }
        }
        let directoryGroups = Set(identity.directoryGroups.map { $0.lowercased() })
        if !directoryGroups.isEmpty,
           let name = groupOrder.first(where: { !groups[$0]!.members.directoryGroups.isDisjoint(with: directoryGroups) }) {
            return name
        }
        if let client = identity.clientAddress {
            let v4 = IPv4.parseDottedStrict(Substring(client))
            guard let address = v4 == nil ? AddressRange.parseAddress(client) : [] else { return defaultGroup }
            var best: (name: String, length: Int)?
            for name in groupOrder {
                for range in groups[name]!.members.addressRanges where v4.map(range.contains(ipv4:)) ?? range.contains(address) {
                    if best == nil || range.prefixLength > best!.length { best = (name, range.prefixLength) }
                }
            }
            if let best { return best.name }
        }
        return defaultGroup
    }
}

extension PolicyRequest {
    /// The request a proxy would decide for `url`: an `https` URL is decided on its host alone,
    /// since without the school-CA mode the path travels encrypted.
    public init(url: RequestURL, group: String, user: String? = nil, time: LocalTime) {
        self.init(group: group, user: user, host: url.host, path: url.scheme == "https" ? nil : url.path, port: url.port, time: time)
    }
}
