/// What the policy answers, and why: every decision names the rule that made it.
public struct Decision: Sendable, Equatable, Codable {
    public enum Verdict: String, Sendable, Codable {
        case allow
        case block
        /// Allowed, but an incident is raised for the DSL.
        case flag
        case needsConsent = "needs-consent"
        case needsAuthentication = "needs-authentication"
    }

    public enum Rule: String, Sendable, Codable {
        /// IWF or CTIRU: always blocked, for everyone.
        case lockedList = "locked-list"
        case consentRequired = "consent-required"
        case authenticationRequired = "authentication-required"
        case exception
        /// The ICT manager's `schoolgate allow|block` for this site.
        case localOverride = "local-override"
        case timeRuleAllow = "time-rule-allow"
        case timeRuleBlock = "time-rule-block"
        case blockedCategory = "blocked-category"
        case flaggedCategory = "flagged-category"
        case walledGarden = "walled-garden"
        case defaultAllow = "default-allow"
        /// A request named a group the config does not have: refused rather than guessed.
        case unknownGroup = "unknown-group"
        /// A tunnel whose TLS SNI names another host than its CONNECT (domain fronting).
        case sniMismatch = "sni-mismatch"
        /// A tunnel closed before splicing: not TLS, no SNI, no ClientHello in time, or too large.
        case tunnelRefused = "tunnel-refused"
        /// Intercepted traffic whose SNI or Host names a site that does not live at the address
        /// the device was really connecting to (a name borrowed to get past the filter).
        case destinationMismatch = "destination-mismatch"
    }

    public var verdict: Verdict
    public var rule: Rule
    public var group: String
    /// The list entry behind the decision, when one was involved.
    public var match: ListMatch?
    /// Set when the request should become (or add to) an incident, even when it was blocked.
    public var severity: Severity?
    /// The config line of the rule that decided, when there is one.
    public var ruleLocation: ConfigLocation?
    /// Where the proxy should connect instead of the requested host (SafeSearch enforcement).
    public var connectTo: String?

    public init(verdict: Verdict, rule: Rule, group: String, match: ListMatch? = nil, severity: Severity? = nil, ruleLocation: ConfigLocation? = nil,
                connectTo: String? = nil) {
        self.verdict = verdict
        self.rule = rule
        self.group = group
        self.match = match
        self.severity = severity
        self.ruleLocation = ruleLocation
        self.connectTo = connectTo
    }

    public var category: String? { match?.source.category }
    public var raisesIncident: Bool { severity != nil }
}

extension Decision.Rule {
    /// The incident category for rules that are about the connection rather than a list.
    public var incidentCategory: String? {
        switch self {
        case .sniMismatch, .tunnelRefused, .destinationMismatch: "bypass-attempt"
        default: nil
        }
    }
}
