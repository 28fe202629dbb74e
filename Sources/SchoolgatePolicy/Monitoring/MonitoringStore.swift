import Foundation

public struct IncidentQuery: Sendable, Equatable {
    public var statuses: [Incident.Status]?
    public var minimumSeverity: Severity?
    public var subject: String?
    public var since: Date?
    public var limit: Int

    public init(statuses: [Incident.Status]? = nil, minimumSeverity: Severity? = nil, subject: String? = nil, since: Date? = nil, limit: Int = 50) {
        self.statuses = statuses
        self.minimumSeverity = minimumSeverity
        self.subject = subject
        self.since = since
        self.limit = limit
    }
}

public struct PurgeResult: Sendable, Equatable, Codable {
    public var visits: Int
    public var incidents: Int
    public var auditEntries: Int

    public init(visits: Int, incidents: Int, auditEntries: Int) {
        self.visits = visits
        self.incidents = incidents
        self.auditEntries = auditEntries
    }
}

/// How soon a batch is wanted. Visits alone, while the writer keeps up, are `.background`: a
/// store that does its work on the proxy's own CPU (SQLite) may then use only CPU the proxy leaves
/// idle. A batch with an incident sighting, or one written while the queue is deep, is `.prompt`.
public enum BatchUrgency: Sendable, Equatable {
    case background
    case prompt
}

/// Thrown by `record` for a `.background` batch the store gave up, unwritten, because more urgent
/// work asked for the write lock (`yieldBackgroundBatch`), or because the batch had been starved
/// of CPU for longer than a batch should take (`starved`) while holding the lock against everyone
/// else, the DSL's CLI in another process included. Nothing of the batch was stored; the writer
/// sends it again, promptly if it was starved.
public struct BatchYielded: Error, Sendable, Equatable {
    public var starved: Bool
    public init(starved: Bool = false) { self.starved = starved }
}

/// The one narrow door to stored monitoring data. SQLite and PostgreSQL implement it; nothing
/// else in Schoolgate knows which is behind it.
public protocol MonitoringStore: Sendable {
    /// Stores a batch in one transaction: the visits, and the sightings folded into incidents
    /// (same subject, site and category within `foldWindow` of an open incident's last sighting).
    /// Returns the ids of the incidents the sightings went into, in order.
    @discardableResult
    func record(visits: [Visit], sightings: [IncidentSighting], foldWindow: TimeInterval, urgency: BatchUrgency) async throws -> [Int64]

    /// Something urgent (an incident sighting, a deep queue) is waiting behind a `.background`
    /// batch: if one is being written, give it up (it throws `BatchYielded`). Returns at once.
    /// A batch on idle CPU can be starved for as long as the machine is busy, holding the write
    /// lock all the while.
    func yieldBackgroundBatch()

    func incidents(_ query: IncidentQuery) async throws -> [Incident]
    func incident(id: Int64) async throws -> Incident?
    /// Applies a DSL action, checking it against the workflow; the change and the audit entry
    /// are written together.
    func update(incident id: Int64, _ action: IncidentAction, by actor: String, at time: Date) async throws -> Incident

    func visits(subject: String?, from: Date?, to: Date?, limit: Int) async throws -> [Visit]

    func audit(_ entry: AuditEntry) async throws
    func auditTrail(since: Date?, limit: Int) async throws -> [AuditEntry]

    /// Incidents at or above `minimumSeverity`, created since `since`, not yet delivered to
    /// `target`, with fewer than `maxAttempts` failed attempts, the last one before `retryBefore`.
    func incidentsAwaitingAlert(target: String, minimumSeverity: Severity, since: Date, maxAttempts: Int, retryBefore: Date) async throws -> [Incident]
    /// Records one delivery attempt (and, when it failed, why).
    func recordAlertAttempt(incident id: Int64, target: String, delivered: Bool, error: String?, at time: Date) async throws
    func alertDeliveries(incident id: Int64) async throws -> [AlertDelivery]

    /// Aggregates for the filtering and monitoring review (MRE), over visits and incidents since `since`.
    func report(since: Date, top: Int) async throws -> MonitoringReport

    /// Stores a guest's agreement to the terms; returns its id.
    func recordConsent(_ record: ConsentRecord) async throws -> Int64
    /// Agreements given since `since` (all when nil), newest first, revoked ones included.
    func consents(since: Date?, limit: Int) async throws -> [ConsentRecord]
    /// Ends the agreements of `client` (of every guest when nil) still in force, with an audit
    /// entry; returns how many ended.
    func revokeConsents(client: String?, by actor: String, at time: Date) async throws -> Int

    /// Stores a local override, with an audit entry naming who, why and for how long.
    func addOverride(_ override: PolicyOverride) async throws -> Int64
    /// Overrides in force at `time`, or every override ever made (newest first) with `includingEnded`.
    func overrides(at time: Date, includingEnded: Bool) async throws -> [PolicyOverride]
    /// Ends an override early, with an audit entry.
    func removeOverride(id: Int64, by actor: String, at time: Date) async throws -> PolicyOverride

    /// Deletes visits (and the guest agreements they were made under) before `visitsBefore`, closed incidents last seen before `incidentsBefore`,
    /// audit entries before `auditBefore`.
    func purge(visitsBefore: Date, incidentsBefore: Date, auditBefore: Date) async throws -> PurgeResult
}

public struct StoreError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Where an incident's alert went, and how that went.
public struct AlertDelivery: Sendable, Equatable, Codable {
    public var target: String
    public var attempts: Int
    public var delivered: Bool
    public var lastAttempt: Date
    public var lastError: String?

    public init(target: String, attempts: Int, delivered: Bool, lastAttempt: Date, lastError: String?) {
        self.target = target
        self.attempts = attempts
        self.delivered = delivered
        self.lastAttempt = lastAttempt
        self.lastError = lastError
    }
}

/// What governors and the DSL look at in a filtering and monitoring review.
public struct MonitoringReport: Sendable, Equatable, Codable {
    public struct Count: Sendable, Equatable, Codable {
        public var group: String?
        public var name: String
        public var count: Int

        public init(group: String?, name: String, count: Int) {
            self.group = group
            self.name = name
            self.count = count
        }
    }

    public var since: Date
    public var visits: Int
    public var blocked: Int
    /// Per group, most blocked first.
    public var topBlockedSites: [Count]
    public var topBlockedCategories: [Count]
    /// `name` is the ISO week, `2026-W47`.
    public var incidentsPerWeek: [Count]
    public var busiestUsers: [Count]

    public init(since: Date, visits: Int, blocked: Int, topBlockedSites: [Count], topBlockedCategories: [Count],
                incidentsPerWeek: [Count], busiestUsers: [Count]) {
        self.since = since
        self.visits = visits
        self.blocked = blocked
        self.topBlockedSites = topBlockedSites
        self.topBlockedCategories = topBlockedCategories
        self.incidentsPerWeek = incidentsPerWeek
        self.busiestUsers = busiestUsers
    }
}

extension MonitoringStore {
    /// For stores whose batches never wait for idle CPU (PostgreSQL's work is the server's).
    public func yieldBackgroundBatch() {}

    /// A batch written promptly: what every caller but the background writer wants.
    @discardableResult
    public func record(visits: [Visit], sightings: [IncidentSighting], foldWindow: TimeInterval) async throws -> [Int64] {
        try await record(visits: visits, sightings: sightings, foldWindow: foldWindow, urgency: .prompt)
    }
}
