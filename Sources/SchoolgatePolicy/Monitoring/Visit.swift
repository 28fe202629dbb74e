import Foundation

/// One request or tunnel, as the monitoring log keeps it.
public struct Visit: Sendable, Equatable, Codable {
    public var time: Date
    /// The identified user, or nil when only the device's address is known.
    public var user: String?
    public var group: String
    public var client: String
    public var method: String
    public var host: String
    public var sni: String?
    /// Only where the proxy could see it (plain HTTP).
    public var url: String?
    public var verdict: Decision.Verdict
    public var rule: Decision.Rule
    public var category: String?
    public var status: Int
    public var bytesIn: Int64
    public var bytesOut: Int64
    public var durationMilliseconds: Int

    public init(time: Date, user: String?, group: String, client: String, method: String, host: String, sni: String? = nil,
                url: String? = nil, verdict: Decision.Verdict, rule: Decision.Rule, category: String? = nil, status: Int,
                bytesIn: Int64 = 0, bytesOut: Int64 = 0, durationMilliseconds: Int = 0) {
        self.time = time
        self.user = user
        self.group = group
        self.client = client
        self.method = method
        self.host = host
        self.sni = sni
        self.url = url
        self.verdict = verdict
        self.rule = rule
        self.category = category
        self.status = status
        self.bytesIn = bytesIn
        self.bytesOut = bytesOut
        self.durationMilliseconds = durationMilliseconds
    }

    /// Who the visit belongs to: the user, or the device when the user is unknown.
    public var subject: String { user ?? client }
}

/// A flagged or locked hit that should become (or add to) an incident.
public struct IncidentSighting: Sendable, Equatable, Codable {
    public var time: Date
    public var subject: String
    public var group: String
    public var client: String
    public var category: String
    public var severity: Severity
    public var site: String

    public init(time: Date, subject: String, group: String, client: String, category: String, severity: Severity, site: String) {
        self.time = time
        self.subject = subject
        self.group = group
        self.client = client
        self.category = category
        self.severity = severity
        self.site = site
    }

    /// The sighting a visit's decision calls for, if any.
    public init?(visit: Visit, decision: Decision) {
        guard let severity = decision.severity, let category = decision.category ?? decision.rule.incidentCategory else { return nil }
        self.init(time: visit.time, subject: visit.subject, group: visit.group, client: visit.client, category: category,
                  severity: severity, site: decision.match?.kind == .domain ? decision.match!.entry : visit.host)
    }
}
